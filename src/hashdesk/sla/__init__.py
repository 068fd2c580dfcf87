"""Service levels: business calendars, SLA policies and the arithmetic of SLA clocks."""
