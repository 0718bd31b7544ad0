//! Evidence on tickets: photos and screenshots run through the pipeline and filed in one
//! transaction with their files, and location fixes that record arrivals on site and queue the
//! technician's position for the server.

mod arrivals;
mod photos;

pub use arrivals::LocateReport;

#[cfg(test)]
mod tests;
