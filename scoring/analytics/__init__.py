"""Analytics: does the score predict churn, when do customers leave, what would predict better.

- metrics.py   AUC, ROC, lift, intervals for proportions (pure numpy)
- survival.py  Kaplan–Meier with Greenwood intervals, churn by month of tenure (pure numpy)
- surveys.py   CSAT, CES and NPS per month and segment
Results are dataclasses with `to_json()`, so a stored analysis (AnalysisRun) keeps them as JSON.
"""
