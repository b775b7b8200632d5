"""The HTTP service (`dalil serve`): one process owns the index, the encoders and the model client
and answers many users and applications at once (Dalil's own JSON, an OpenAI-compatible API, the
original files of cited documents). It sits on top of the library, beside the app (ui/)."""
