"""Build the project's own spaCy pipeline for Rasa's SpacyNLP component.

spaCy's pretrained English models cannot be downloaded here, and re-uploads by
unknown publishers are not trusted, so the pipeline is assembled from official
packages only: spaCy's English tokenizer (`spacy.blank("en")`), its
rule-based sentencizer (which cuts "Is it safe? How much downtime?" in two for
components/multi_question.py) and its lookup lemmatizer, whose tables come from
`spacy-lookups-data`.
The tables are serialised with the pipeline, so loading it needs no extra package.

Usage: python scripts/build_spacy_pipeline.py OUTPUT_DIR
"""

import sys
from pathlib import Path

import spacy


def build(output: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the English lookup table from spacy-lookups-data
    nlp.meta.update(
        name="microneedling_en",
        version="1.0.0",
        description="spaCy English tokenizer + sentencizer + lookup lemmatizer (no vectors)",
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
