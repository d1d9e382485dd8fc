"""Write a multi-class text classification CSV from a Universal Dependencies CoNLL-U file: each
sentence's text (its ``# text =`` line) labelled by the genre its ``# sent_id`` names (EWT: answers,
email, newsgroup, reviews, weblog), a real label that nobody tuned for seqcli.

    python bench/genre_csv.py ../shared/data/en_ewt-ud-train.conllu > ewt-genre.csv
    seqcli compare ewt-genre.csv --models lstm,transformer --folds 3

EWT's sent_ids read ``weblog-juancole.com_..._0001``: the genre is the part before the first dash.
Sentences whose text is empty are left out. Standard library only.
"""

import csv
import sys


def rows(lines):
    sent_id = text = None
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("# sent_id ="):
            sent_id = line.split("=", 1)[1].strip()
        elif line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif not line.strip():
            if sent_id and text:
                yield text, sent_id.split("-", 1)[0]
            sent_id = text = None


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["text", "label"])
        out.writerows(rows(f))


if __name__ == "__main__":
    main()
