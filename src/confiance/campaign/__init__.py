"""Campaigns: proof of impact on KPIs (counterfactual), opinion (difference-in-differences),
survey waves and attribution."""
