"""The study's stages as library calls: one module per stage notebook.

Each module holds one ``run_<stage>(config, run_dir) -> <Stage>Result``: it reads the stages
before it from the run folder, does the stage's work through the rooms below (world, labels,
pretrain, transfer, study), writes the stage's results file and returns it typed. The typed
result is also what reads that file back (``<Stage>Result.read(run_dir)``), for the next
stage, the notebook's figures and the generated book pages. A notebook is the narrative, that
call, and the figures.
"""
