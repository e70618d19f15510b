//! The one integration-test binary (the AWS SDK makes each extra test binary costly to link).
//! Tests run the real `ddb-fleet` binary against a real `moto_server` each test starts on a
//! free loopback port, and check results by reading AWS directly, not through our report.

mod support;

mod bad_input;
mod fleet;
mod single_table;
