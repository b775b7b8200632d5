"""Near-miss signals of the refusal decision: an amount or a rate asked that no passage states, a
country no indexed text names in any language, greetings that ask nothing; and the evaluation's
margins read from the decision itself."""

import pytest

from assistant.refusal import Vocabulary, asks_for_amount, decide, is_not_a_question, signals, states_amount
from eval.runner import refusal_margins

pytestmark = pytest.mark.unit

WEIGHTS = {"bias": 1.0, "amount_missing": -5.0, "country_unknown": -5.0}
PASSPORT = "Article 4. La demande du passeport biométrique est déposée par l'intéressé auprès de l'autorité."
SMIG = "Le salaire minimum est fixé à 17,92 dirhams par heure."
ARTICLE_AR = "المادة 14. تحدد فترة الاختبار بالنسبة للأطر في ثلاثة أشهر."


def _vocab(*texts: tuple[str, str]) -> Vocabulary:
    v = Vocabulary()
    v.refresh(len(texts), ({"text": t, "language": lang} for t, lang in texts))
    return v


@pytest.mark.parametrize(
    "question",
    [
        "How much does it cost to apply for a Moroccan biometric passport?",
        "Combien coûte le dépôt d'une déclaration auprès de la CNDP ?",
        "Quel capital minimum faut-il pour créer une SARL ?",
        "What is the minimum share capital required for a société anonyme?",
        "ما هو السعر العادي للضريبة على القيمة المضافة؟",
        "كم ثمن جواز السفر؟",
        # Darija: "how much do I pay / does it give / is it paid"
        "شحال خاصني نخلص على الاشتراك؟",
        "شحال كيخلصو الساعة؟",
        "شحال كيخلصوني على الساعات الإضافية؟",
        "شحال كيتخلص الامتحان؟",
        "واش كاينة شي منحة على الولادة؟ شحال؟",
    ],
)
def test_questions_asking_for_a_sum_or_a_rate(question: str) -> None:
    assert asks_for_amount(question)


@pytest.mark.parametrize(
    "question",
    [
        # yes or no on a cost: "free of charge" answers it, no sum needed
        "Un employé peut-il s'opposer à la prospection, et cela lui coûte-t-il quelque chose ?",
        "Combien de jours dure la période d'essai ?",
        "How long is the trial period?",
        "ما هي مدة فترة الاختبار؟",
        "شحال كتدوم فترة التجربة؟",
        "شحال كيعطيو ديال الكونجي فالعام؟",  # how many days, not how much
    ],
)
def test_other_questions_do_not_ask_for_an_amount(question: str) -> None:
    assert not asks_for_amount(question)


def test_passages_stating_an_amount() -> None:
    assert states_amount(SMIG)
    assert states_amount("يحدد الحد الأدنى في 3000 درهم")
    assert states_amount("un taux de 20 %")
    assert not states_amount(PASSPORT)


def test_an_amount_no_passage_states_is_refused_with_that_reason() -> None:
    vocab = _vocab((PASSPORT, "fr"), (SMIG, "fr"))
    question = "How much does it cost to apply for a biometric passport?"
    missing = signals(question, "en", 0.83, [(PASSPORT, "fr", True)], vocab)
    assert missing.amount_missing
    decision = decide(missing, WEIGHTS, 0.0)
    assert not decision.answers and decision.reason == "amount_missing"
    stated = signals("Quel est le montant du salaire minimum ?", "fr", 0.9, [(SMIG, "fr", True)], vocab)
    assert not stated.amount_missing and decide(stated, WEIGHTS, 0.0).answers


def test_a_country_no_text_names_in_any_language() -> None:
    vocab = _vocab((ARTICLE_AR, "ar"), ("La loi française du 17 juillet 1978 s'applique en France.", "fr"))
    tunisia = signals("ما هي مدة فترة الاختبار في تونس؟", "ar", 0.86, [(ARTICLE_AR, "ar", True)], vocab)
    assert tunisia.country_unknown == ("تونس",)
    decision = decide(tunisia, WEIGHTS, 0.0)
    assert not decision.answers and decision.reason == "unknown_terms" and "تونس" in decision.details["terms"]
    # France is named by an indexed text (in French): an Arabic question about it is not a near miss
    france = signals("في فرنسا، هل الاطلاع على الوثائق مجاني؟", "ar", 0.86, [(ARTICLE_AR, "ar", True)], vocab)
    assert france.country_unknown == ()


def test_greetings_and_thanks_alone_are_not_a_question() -> None:
    assert is_not_a_question("Bonjour, merci beaucoup pour votre aide !", "fr")
    assert is_not_a_question("Thank you so much for your help!", "en")
    assert is_not_a_question("السلام عليكم، شكرا بزاف على المساعدة", "ar")
    assert not is_not_a_question("Bonjour, quelle aide pour le logement social ?", "fr")
    assert is_not_a_question("Salut, ça va ? Comment allez-vous ?", "fr")
    assert is_not_a_question("السلام عليكم، لاباس عليك؟ كيداير الصحة؟", "ar")
    assert is_not_a_question("Hello, how are you today?", "en")


def test_a_web_address_alone_is_not_a_question() -> None:
    assert is_not_a_question("https://www.cnss.ma/fr/content/allocations-familiales", "en")
    assert is_not_a_question("  www.example.ma/page  ", "fr")
    assert not is_not_a_question("Que dit la page https://www.cnss.ma sur les allocations familiales ?", "fr")


def test_margins_are_those_of_the_decision() -> None:
    items = [
        {
            "answerable": True,
            "language": "fr",
            "kind": "factual",
            "direction": "fr->fr",
            "decision_log_odds": 0.5,
        },
        {
            "answerable": True,
            "language": "en",
            "kind": "cross-lingual",
            "direction": "en->ar",
            "decision_log_odds": -2.5,
        },
        {"answerable": False, "language": "fr", "kind": "unanswerable", "decision_log_odds": -1.0},
        {"answerable": False, "language": "en", "kind": "unanswerable", "decision_log_odds": -3.0},
    ]
    margins = refusal_margins(items, -1.75, value="decision_log_odds")
    assert margins["signal"] == "decision_log_odds" and margins["threshold"] == -1.75
    assert margins["all"]["answerable_margin"] == -0.75 and margins["all"]["answerable_below"] == 1
    assert margins["all"]["unanswerable_margin"] == -0.75 and margins["all"]["unanswerable_above"] == 1
    assert margins["by_language"]["en"]["unanswerable_margin"] == 1.25
    assert margins["by_kind"]["factual"]["answerable_margin"] == 2.25
    assert margins["by_direction"]["en->ar"]["answerable_below"] == 1
