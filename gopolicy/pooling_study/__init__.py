"""The pooling study: pooling helps image CNNs, so why does AlphaGo's policy net
have none? Matched CNNs from cnn_core with and without pooling, trained on
images and on Go positions with the same budget, compared in numbers and plots
(``gopolicy pooling-study``).

Modules: ``images`` (data loaders, downloads, rendered digits), ``shifts``
(pixel-shift evaluation), ``variants`` (the matched models), ``train_loop``,
``go_task`` (positions, symmetry augmentation, move metrics), ``study`` (the
runner: ``StudyConfig``, ``run_study``, ``BUDGETS``), ``report`` (report.md),
``plots`` (PNGs). Importing the package itself loads none of them (no torch).
"""
