"""The Monitor stage: scrape targets, parse expositions, store series, derive service health."""
