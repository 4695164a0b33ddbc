"""Dagster pipeline for gan_augment: assets, blocking validation checks, resources, IO managers,
schedules and sensors (`pipelines.definitions.defs`), and `run_pipeline` to run the whole graph
for one data set (`pipelines.run`).

    dagster dev -w workspace.yaml                       # the UI, with the asset graph
    python -m pipelines.run digits                       # the whole graph for digits, in-process

See docs/PIPELINE.md. Importing this package is light (no TensorFlow).
"""

#: Environment variable naming the project directory (the folder holding data/datasets.yaml;
#: `pipelines.config.find_project_dir`); ``gan-augment run --project-dir`` sets it.
PROJECT_DIR_ENV = "GAN_AUGMENT_PROJECT_DIR"
