# Stages 8-10, the paper: the claims ledger decided on the run's tables, the figures, and the
# LaTeX write-up whose every number is generated from them. Each command is given every table it
# reads, by role (simagents.report.tables); a missing one stops it instead of thinning the paper.

from simagents.report.claims import SOURCES
from simagents.report.figures import FIGURE_TABLES, FIGURES
from simagents.report.latex import PAPER_TABLES

CLAIM_TABLES = run_tables(SOURCES)
PAPER_TABLE_FILES = run_tables(PAPER_TABLES)


rule claims:
    # Every claim of the ledger decided by its tests; a failing claim is reported as failing.
    input:
        config=stage_config("claims"),
        ledger=LEDGER,
        tables=list(CLAIM_TABLES.values()),
    output:
        report(str(PATHS.claims), caption="../report/claims.rst", category="Claims"),
    log:
        log("claims"),
    benchmark:
        benchmark("claims")
    localrule: True
    shadow:
        SHADOW
    conda:
        ENV
    params:
        tables=table_arguments(CLAIM_TABLES),
    shell:
        "simagents claims --config {input.config} --ledger {input.ledger} {params.tables} --out {output} > {log} 2>&1"


rule figure:
    # One figure of the paper, PDF and PNG, from the tables it draws (seaborn, one style).
    input:
        config=stage_config("figure"),
        tables=lambda wildcards: list(run_tables(FIGURE_TABLES[wildcards.figure]).values()),
    output:
        pdf=str(PATHS.figure("{figure}", "pdf")),
        png=report(
            str(PATHS.figure("{figure}", "png")),
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        log("figure_{figure}"),
    benchmark:
        benchmark("figure_{figure}")
    wildcard_constraints:
        figure="|".join(FIGURES),
    localrule: True
    shadow:
        SHADOW
    conda:
        ENV
    params:
        tables=lambda wildcards: table_arguments(run_tables(FIGURE_TABLES[wildcards.figure])),
        caption=lambda wildcards: FIGURES[wildcards.figure],
        out_dir=lambda wildcards, output: os.path.dirname(output.pdf),
    shell:
        "simagents figure {wildcards.figure} --config {input.config} {params.tables} --out-dir {params.out_dir}"
        " > {log} 2>&1"


rule paper:
    # The write-up: generated numbers and tables, the figures, then latexmk (TeX installed by
    # `make setup`). The default run also copies the PDF to paper/paper.pdf (config paper.publish).
    input:
        config=stage_config("paper"),
        tex=os.path.join(PAPER_SOURCE, "paper.tex"),
        bib=os.path.join(PAPER_SOURCE, "references.bib"),
        tables=list(PAPER_TABLE_FILES.values()),
        figures=[str(PATHS.figure(name, "pdf")) for name in FIGURES],
    output:
        pdf=report(str(PATHS.paper_pdf), caption="../report/paper.rst", category="Paper"),
        numbers=str(PATHS.paper_numbers),
        tables=[
            str(PATHS.paper_numbers.with_name(f"{name}.tex"))
            for name in ("claims_table", "config_table", "runtime_table", "inputs")
        ],
        published=[CFG.paper.publish] if CFG.paper.publish else [],
    log:
        log("paper"),
    benchmark:
        benchmark("paper")
    localrule: True
    shadow:
        SHADOW
    conda:
        ENV
    params:
        tables=table_arguments(PAPER_TABLE_FILES),
        figures=" ".join(f"--figure {name}={PATHS.figure(name, 'pdf')}" for name in FIGURES),
        out_dir=lambda wildcards, output: os.path.dirname(output.pdf),
        source=lambda wildcards, input: os.path.dirname(input.tex),
        publish=f"--publish {CFG.paper.publish}" if CFG.paper.publish else "",
    shell:
        "simagents paper --config {input.config} --source {params.source} {params.tables} {params.figures}"
        " --out-dir {params.out_dir} {params.publish} > {log} 2>&1"
