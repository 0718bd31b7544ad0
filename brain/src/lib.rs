//! The service brain of Fieldwork as pure functions: the tenant's configuration, business
//! calendars, SLA clocks, classification, routing and automation rules. No I/O, no clock: the
//! server hands in tickets, times and state, and gets back decisions as plain values.

pub mod calendar;
