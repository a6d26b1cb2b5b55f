"""A fitted scikit-learn pipeline from a prep fitted-parameters file.

`prep fit` writes, beside the fitted parameters, scikit-learn's view of the
same values (the file's `sklearn:` section): per feature, the transformers,
their constructor options and their fitted attributes. This package builds
the fitted transformers from that section alone, without refitting and
without prep, so a notebook scores rows with exactly the statistics the
warehouse uses:

    from prep_sklearn import load
    features = load("churn.fitted.yml", spec="churn.yml")
    X = features.transform(df)

`load` returns a fitted `ColumnTransformer` (pandas output, one column per
output column of the SQL, in the same order). `log_to_mlflow` records the
fitted file, its spec hash and fit id on an MLflow run.
"""

from .build import FittedFile, load, log_to_mlflow, read

__all__ = ["FittedFile", "load", "log_to_mlflow", "read"]
