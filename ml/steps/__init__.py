"""Pipeline step scripts: preprocess, train, evaluate.

Each module is a self-contained script (numpy, pandas, scikit-learn and xgboost only; no other ``ml``
import) so that SageMaker can run the single file as a Processing or Training entry point, and the local
platform can call its ``run`` function in process.
"""
