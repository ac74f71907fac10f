# Stages 8-10, the paper (SPEC section 7): the claims ledger decided on the run's tables, the
# figures, and the LaTeX write-up whose every number is generated from them.

from simagents.report.figures import FIGURES

# The ledger and the LaTeX sources live in the repository, beside the Snakefile (the working
# directory may be elsewhere: --directory).
LEDGER = os.path.join(workflow.basedir, "config", "claims.yaml")
PAPER_SOURCE = os.path.join(workflow.basedir, "paper")
FIGURE_DIR = str(PATHS.figures)
RLFT_FRONTIER = str(PATHS.rlft_summary.with_name("rlft_frontier.csv"))
CLAIM_TABLES = [str(PATHS.metrics), str(PATHS.agent_metrics), str(PATHS.ladder / "statistics.csv"), RLFT_FRONTIER]


rule claims:
    # Every claim of the ledger decided by its tests; a failing claim is reported as failing.
    localrule: True
    input:
        ledger=LEDGER,
        tables=CLAIM_TABLES,
    output:
        report(str(PATHS.claims), caption="../report/claims.rst", category="Claims"),
    params:
        config=CONFIG_FILE,
    log:
        f"{RUN}/logs/claims.log",
    shell:
        "simagents claims --config {params.config} --ledger {input.ledger} --out {output} > {log} 2>&1"


rule figure:
    # One figure of the paper, PDF and PNG, from the run's tables (seaborn, one style).
    localrule: True
    input:
        tables=CLAIM_TABLES + [str(PATHS.calibration), str(PATHS.ladder / "elo.csv"), str(PATHS.rlft_summary)],
    output:
        pdf=f"{FIGURE_DIR}/{{figure}}.pdf",
        png=report(f"{FIGURE_DIR}/{{figure}}.png", caption="../report/figure.rst", category="Figures",
                   labels={"figure": "{figure}"}),
    params:
        config=CONFIG_FILE,
        caption=lambda wildcards: FIGURES[wildcards.figure],
        out_dir=FIGURE_DIR,
    wildcard_constraints:
        figure="|".join(FIGURES),
    log:
        f"{RUN}/logs/figure_{{figure}}.log",
    shell:
        "simagents figure {wildcards.figure} --config {params.config} --out-dir {params.out_dir} > {log} 2>&1"


rule paper:
    # The write-up: generated numbers and tables, the figures, then latexmk (TeX installed by
    # `make setup`). The default run also copies the PDF to paper/paper.pdf (config paper.publish).
    localrule: True
    input:
        tex=os.path.join(PAPER_SOURCE, "paper.tex"),
        bib=os.path.join(PAPER_SOURCE, "references.bib"),
        claims=str(PATHS.claims),
        figures=[f"{FIGURE_DIR}/{name}.pdf" for name in FIGURES],
        rlft=str(PATHS.rlft_summary),
        checks=str(PATHS.checks),
    output:
        pdf=report(str(PATHS.paper / "paper.pdf"), caption="../report/paper.rst", category="Paper"),
        numbers=str(PATHS.paper / "generated" / "numbers.tex"),
        published=[CFG.paper.publish] if CFG.paper.publish else [],
    params:
        config=CONFIG_FILE,
        out_dir=str(PATHS.paper),
        source=PAPER_SOURCE,
        publish=f"--publish {CFG.paper.publish}" if CFG.paper.publish else "",
    log:
        f"{RUN}/logs/paper.log",
    benchmark:
        f"{RUN}/benchmarks/paper.tsv"
    shell:
        "simagents paper --config {params.config} --source {params.source} --out-dir {params.out_dir}"
        " {params.publish}"
        " > {log} 2>&1"
