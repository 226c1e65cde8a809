"""Drift checks of a served model's inputs and scores against its training baseline.

``baseline`` builds the reference from the training split, ``psi`` measures the shift of one
distribution, ``check`` compares current rows with the baseline, ``capture`` reads SageMaker-format
captured traffic and ``data`` a CSV in the training layout; ``stored`` (standard library only) joins a
version's stored baseline files. All but ``stored`` need numpy and pandas: they run where training
runs and in the CLI, never in the bot's lean runtime, so this package imports none of them itself.
"""
