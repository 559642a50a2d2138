"""Verdicts and the plain results files they are read from: the paired bootstrap and verdict rule
(:mod:`~vise_lib.verdicts.statistics`) and the scores / correctness / claims files
(:mod:`~vise_lib.verdicts.results`). A floor of the library: both the transfer run and the
study import it, and it imports neither."""
