"""The paper's side of a run: the claims ledger, figures and the generated LaTeX."""
