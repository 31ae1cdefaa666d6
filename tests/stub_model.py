"""Stand-ins for the language model in unit tests that need only its tokenizer and hidden size.

WordTokenizer splits on spaces and gives each word one id, so " South Korea" and " South Africa" share their
first token (" South"), as they do in the real tokenizer: enough for the pair-building code, which compares
first answer tokens. StubModel carries it, and a config with hidden_size, and nothing to run.
"""
from types import SimpleNamespace


class WordTokenizer:
    def __init__(self):
        self.vocab = {}

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [self.vocab.setdefault(word, len(self.vocab)) for word in text.split()]}

    def convert_ids_to_tokens(self, ids):
        words = {i: w for w, i in self.vocab.items()}
        return [" " + words[i] for i in ids]


class StubModel:
    def __init__(self, hidden_size=8):
        self.tokenizer = WordTokenizer()
        self.config = SimpleNamespace(hidden_size=hidden_size)
