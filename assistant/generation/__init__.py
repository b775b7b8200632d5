"""Answer generation: one chat Protocol, the Mistral SDK adapter, the embedded llama.cpp server."""
