"""Predict, then measure: the lecture's exercises, graded against runs made on the student's own machine.

    model.py    an Exercise (question, kind, tolerance, the run setting that measures it, how to read it)
    catalog.py  every command's exercises (nnlab/commands/<pkg>/exercises.py), by section and id
    measure.py  the measuring runs: one per distinct setting, shared by the exercises that read it
    answers.py  answer files (a YAML mapping of id -> prediction), read and checked whole
    results.py  an exercise directory: results.json (per id: prediction, measured, tolerance, right)
    grade.py    a class's answer files graded into one CSV and a summary
    cli.py      `nnlab exercise` (prompts with rich, --answers, --grade, --list)
"""
