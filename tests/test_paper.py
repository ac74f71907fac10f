"""The paper: no typed numbers in its results, every macro it uses generated, the LaTeX helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from simagents.report.latex import claims_table, escape, interval, key, number

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "paper" / "paper.tex"

# What may carry digits in prose: generated numbers and their keys, cross-references, citations,
# claim names (C1-C6), the metric name top-1, inputs and figure files.
_ALLOWED = [
    r"\\sn(?:ci)?\{[^}]*\}",
    r"\btop-1\b",
    r"\\(?:ref|label|cite[pt]?|citep|citet|input|includegraphics)(?:\[[^]]*\])?\{[^}]*\}",
    r"\bC[1-6]\b",
    r"%.*",
]


def _sections(text: str) -> dict[str, str]:
    """The abstract and each section's body, by title."""
    parts = {"abstract": text.split(r"\begin{abstract}")[1].split(r"\end{abstract}")[0]}
    for match in re.finditer(r"\\section\{([^}]*)\}(.*?)(?=\\section\{|\\bibliographystyle)", text, re.DOTALL):
        parts[match.group(1)] = match.group(2)
    return parts


def numeric_literals(text: str) -> list[str]:
    """Digits left in ``text`` once macros, references and claim names are removed."""
    for pattern in _ALLOWED:
        text = re.sub(pattern, " ", text)
    text = re.sub(r"\\begin\{(figure|table)\}.*?\\end\{\1\}", " ", text, flags=re.DOTALL)  # float layout
    return re.findall(r"[^\s]*\d[^\s]*", text)


@pytest.mark.parametrize("section", ["abstract", "Results", "Discussion"])
def test_results_text_has_no_typed_numbers(section):
    sections = _sections(PAPER.read_text())
    assert section in sections
    assert numeric_literals(sections[section]) == []


def test_the_literal_check_catches_a_typed_number():
    assert numeric_literals(r"the learner scores 0.62 \sn{rl-score} (C1, Section~\ref{sec:x})") == ["0.62"]
    assert numeric_literals(r"scores \snci{rlft-rl-lowest-score}, see \citep{maia2}") == []


def test_every_number_the_paper_uses_is_generated_by_the_default_run():
    body = re.sub(r"%.*", "", PAPER.read_text().split(r"\begin{document}")[1])
    used = set(re.findall(r"\\sn(?:ci)?\{([^}]*)\}", body))
    numbers = (REPO / "results" / "default" / "paper" / "generated" / "numbers.tex").read_text()
    defined = set(re.findall(r"\\snset\{([^}]*)\}", numbers))
    missing = {k for k in used if k not in defined and not (k.endswith("-ci") and k[:-3] in defined)}
    ci_missing = {k for k in re.findall(r"\\snci\{([^}]*)\}", body) if f"{k}-ci" not in defined}
    assert not missing and not ci_missing, sorted(missing | ci_missing)


def test_committed_pdf_is_built_from_the_committed_numbers():
    """The PDF's keywords carry the sha256 of the generated numbers and tables it was built from
    (report.latex.inputs_digest): it must be the digest of the committed ones."""
    from simagents.report.latex import FINGERPRINTED, inputs_digest

    generated = REPO / "results" / "default" / "paper" / "generated"
    digest = inputs_digest({name: (generated / name).read_text() for name in FINGERPRINTED})
    assert (generated / "inputs.tex").read_text().count(digest) == 1
    pdf = (REPO / "paper" / "paper.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf_keywords(pdf) == f"simagents generated inputs sha256 {digest}", (
        "paper/paper.pdf was not built from results/default/paper/generated/: rerun `make reproduce`"
    )


def pdf_keywords(pdf: bytes) -> str | None:
    """The /Keywords string of a PDF's document information (hyperref writes it in UTF-16 with
    octal escapes), or None."""
    match = re.search(rb"/Keywords\s*\(((?:\\.|[^\\)])*)\)", pdf, re.DOTALL)
    if match is None:
        return None
    raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                 else m.group(1), match.group(1))  # fmt: skip
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def test_pdf_keywords_are_read_as_hyperref_writes_them(tmp_path):
    sample = rb"<< /Keywords(\376\377\000a\000b\000\040\000\050) >>"
    assert pdf_keywords(sample) == "ab ("


def test_latex_helpers():
    assert escape("rlft_beta0 & 5% #1") == r"rlft\_beta0 \& 5\% \#1"
    assert key("metric", "simulator_seed0", "(across prompts)", "jsd") == "metric-simulator-seed0-across-prompts-jsd"
    assert number(-0.1234, 3) == "$-$0.123" and number(float("nan")) == "n/a"
    assert interval(0.1, 0.25) == "[0.10, 0.25]"
    table = claims_table(
        pd.DataFrame(
            [
                {
                    "claim": "C1",
                    "test": "a_b",
                    "expectation": "95% interval above 0",
                    "value": 0.5,
                    "low": 0.1,
                    "high": 0.9,
                    "passed": "yes",
                    "positive_control": "oracle",
                    "positive_value": 0.8,
                    "positive_passed": "yes",
                    "negative_control": "prompt_blind",
                    "negative_value": 0.4,
                    "negative_passed": "yes",
                    "valid": "no",
                    "verdict": "test cannot decide",
                }
            ]
        )
    )
    assert r"\label{tab:claims}" in table and r"a\_b" in table and "(pass)" in table
    assert r"\textbf{test cannot decide}" in table and r"prompt\_blind 0.400 (pass)" in table
    assert r"\textit{not valid}" in table


def test_a_figure_without_data_says_so_instead_of_failing():
    from simagents.report.figures import draw_decisive

    empty = pd.DataFrame(columns=["policy", "model_prompt", "data_prompt", "metric", "value", "low", "high"])
    fig = draw_decisive({"agent_metrics": empty, "metrics": empty}, "simulator_seed0")
    assert "no evaluated position" in fig.axes[0].texts[0].get_text()


def test_the_fingerprint_ignores_measured_time_and_nothing_else():
    """A Slurm run and a local run of the same config differ only in measured wall times: their
    PDFs must carry the same digest, and any other change of a number must change it."""
    from simagents.report.latex import inputs_digest

    files = {
        "numbers.tex": "\\snset{a}{0.50}\n\\snset{runtime-total-minutes}{12}\n",
        "config_table.tex": "x\n",
        "claims_table.tex": "y\n",
    }
    slower = {**files, "numbers.tex": files["numbers.tex"].replace("{12}", "{19}")}
    other = {**files, "numbers.tex": files["numbers.tex"].replace("{0.50}", "{0.51}")}
    assert inputs_digest(files) == inputs_digest(slower)
    assert inputs_digest(files) != inputs_digest(other)
