"""One construct per capability of the OMS stack, each built from `infra/wiring.py`.

Not named `constructs`: `python infra/app.py` puts infra/ first on sys.path, where a package of
that name would shadow the `constructs` library that aws_cdk imports.
"""
