"""Analytics: does the score predict churn, when do customers leave, what would predict better.

The API a page builds on (every result has `to_json()`; AnalysisRun stores that JSON):

- services.py     parse_parameters (named errors: AnalysisInputError), analysis_create,
                  analysis_execute (claimed once, progress written as it goes),
                  analysis_latest / analysis_running (what the page shows and polls);
                  scoring.services.analysis_request stores one and queues it in Celery, and
                  scoring.services.scorecard_draft_suggest applies a suggestion as a draft
- backtest.py     backtest(version, start=, end=, horizon_days=) -> BacktestResult
- suggestion.py   suggestion_compute(version, start=, end=, horizon_days=) -> SuggestionResult
- retention.py    retention_report(band_date=, today=) -> RetentionReport
- surveys.py      survey_report(start=, end=) -> SurveyReport

Their parts:

- labels.py       who was a customer at each evaluation date, and who churned within the horizon
- asof.py         a version's scores on a past date: stored snapshots, else computed from the
                  signals observed up to that date (never later)
- features.py     candidate measures (every metric with signals × aggregations × windows)
- metrics.py      AUC, ROC, lift, Wilson and Clopper–Pearson intervals (pure numpy)
- survival.py     Kaplan–Meier with Greenwood intervals, churn by month of tenure (pure numpy)
- suggest.py      choosing, scoring and weighing measures, cross-validated by account
                  (numpy + scikit-learn)
- command.py      what `manage.py backtest` and `suggest_scorecard` share
"""
