"""One date style everywhere (ISO dates, 24-hour times, the zone named), the way IT teams read
logs, instead of the locale's "Nov. 25, 2026, 2:16 p.m."."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
