#include "common/status.h"

#include <catch2/catch.hpp>

using veridge::Result;
using veridge::Status;

TEST_CASE("Status maps kinds onto the CLI exit codes") {
  CHECK(Status::Ok().ExitCode() == 0);
  CHECK(Status::InvalidInput("decode_failed", "x").ExitCode() == 2);
  CHECK(Status::NotFound("model_missing", "x").ExitCode() == 2);
  CHECK(Status::Unavailable("lender_down", "x").ExitCode() == 3);
  CHECK(Status::Internal("bug", "x").ExitCode() == 3);
}

TEST_CASE("WithContext keeps the code and prefixes the message") {
  auto st = Status::Io("write_failed", "No space left on device").WithContext("writing /var/x");
  CHECK(st.code() == "write_failed");
  CHECK(st.message() == "writing /var/x: No space left on device");
  CHECK(st.ToString() == "write_failed: writing /var/x: No space left on device");
}

TEST_CASE("Result holds a value or an error") {
  Result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int> bad = Status::InvalidInput("nope", "bad");
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == "nope");
}
