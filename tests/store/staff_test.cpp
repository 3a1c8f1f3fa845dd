// The staff repository (store/staff.cpp, schema version 4) on a real SQLCipher file: accounts,
// failed logins and lockout with backoff, console sessions, TOTP enrolment and recovery codes,
// each change audited in its own transaction.
#include <catch2/catch.hpp>

#include "common/sha256.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000;
const std::string kHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

store::StaffRecord Staff(const std::string& id, const std::string& name, const std::string& role) {
  store::StaffRecord s;
  s.id = id;
  s.name = name;
  s.role = role;
  s.password_hash = kHash;
  s.created_at = kT0;
  return s;
}

store::ConsoleSessionRecord Session(const std::string& token, const std::string& staff_id, std::int64_t at) {
  store::ConsoleSessionRecord s;
  s.token_sha256 = Sha256Hex(token);
  s.staff_id = staff_id;
  s.created_at = s.last_seen_at = at;
  s.expires_at = at + 8 * 3600;
  return s;
}

std::vector<store::AuditEvent> Events(store::Store& s, const std::string& action) {
  auto all = s.ListAudit(0, 10000);
  REQUIRE(all.ok());
  std::vector<store::AuditEvent> out;
  for (const auto& e : *all)
    if (e.action == action) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE("store staff: accounts are added with their audit event, names are unique, only argon2id hashes are kept") {
  StoreFixture f;
  auto s = f.Open();
  CHECK(s->AddStaff(Staff("stf_1", "li.wei", "root"), "cli").code() == "bad_staff");
  auto plain = Staff("stf_1", "li.wei", "admin");
  plain.password_hash = "correct horse battery staple";
  CHECK(s->AddStaff(plain, "cli").code() == "bad_staff");
  REQUIRE(s->AddStaff(Staff("stf_1", "li.wei", "admin"), "cli").ok());
  CHECK(s->AddStaff(Staff("stf_2", "li.wei", "operator"), "cli").code() == "duplicate");
  REQUIRE(s->AddStaff(Staff("stf_2", "chen.jing", "operator"), "cli").ok());
  auto found = s->FindStaffByName("li.wei");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->role == "admin");
  CHECK((*found)->password_hash == kHash);
  auto none = s->FindStaffByName("nobody");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  auto all = s->ListStaff();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK(all->front().name == "chen.jing");  // by name
  auto created = Events(*s, "staff.created");
  REQUIRE(created.size() == 2);
  CHECK(created[0].actor == "cli");
  CHECK(created[0].subject == "stf_1");
  CHECK(created[0].detail_json.find("argon2") == std::string::npos);  // the hash is not audited
  CHECK(s->GetStaff("stf_9").status().code() == "not_found");
}

TEST_CASE("store staff: the 5th failed login locks with backoff, each audited, and a login clears the count") {
  StoreFixture f;
  auto s = f.Open();
  REQUIRE(s->AddStaff(Staff("stf_1", "li.wei", "operator"), "cli").ok());
  store::LockoutPolicy policy{5, 60, 600};
  for (int i = 1; i <= 4; ++i) {
    auto r = s->RecordFailedLogin("stf_1", kT0 + i, policy, "bad_password");
    REQUIRE(r.ok());
    CHECK(r->failed_logins == i);
    CHECK_FALSE(r->locked_now);
    CHECK(r->locked_until == 0);
  }
  auto fifth = s->RecordFailedLogin("stf_1", kT0 + 5, policy, "bad_password");
  REQUIRE(fifth.ok());
  CHECK(fifth->locked_now);
  CHECK(fifth->locked_until == kT0 + 5 + 60);
  auto sixth = s->RecordFailedLogin("stf_1", kT0 + 200, policy, "bad_password");
  REQUIRE(sixth.ok());
  CHECK(sixth->locked_until == kT0 + 200 + 120);  // doubled
  auto many = sixth;
  for (int i = 0; i < 10; ++i) many = s->RecordFailedLogin("stf_1", kT0 + 1000, policy, "bad_password");
  REQUIRE(many.ok());
  CHECK(many->locked_until == kT0 + 1000 + 600);  // capped
  CHECK(Events(*s, "staff.login_failed").size() == 16);
  CHECK(Events(*s, "staff.locked_out").size() == 12);
  REQUIRE(s->CreateConsoleSession(Session("vcs_a", "stf_1", kT0 + 5000), {}, "staff:stf_1/operator").ok());
  auto after = s->GetStaff("stf_1");
  REQUIRE(after.ok());
  CHECK(after->failed_logins == 0);
  CHECK(after->locked_until == 0);
  auto login = Events(*s, "staff.login");
  REQUIRE(login.size() == 1);
  CHECK(login[0].actor == "staff:stf_1/operator");
}

TEST_CASE("store staff: sessions end at logout, logout everywhere, password change and disable, each audited") {
  StoreFixture f;
  auto s = f.Open();
  REQUIRE(s->AddStaff(Staff("stf_1", "li.wei", "admin"), "cli").ok());
  REQUIRE(s->AddStaff(Staff("stf_2", "chen.jing", "operator"), "cli").ok());
  REQUIRE(s->CreateConsoleSession(Session("vcs_a", "stf_1", kT0), {}, "a").ok());
  REQUIRE(s->CreateConsoleSession(Session("vcs_b", "stf_2", kT0), {}, "b").ok());
  REQUIRE(s->CreateConsoleSession(Session("vcs_c", "stf_2", kT0), {}, "b").ok());
  CHECK(s->CreateConsoleSession(Session("vcs_c", "stf_2", kT0), {}, "b").code() == "duplicate");
  auto open = s->FindConsoleSession(Sha256Hex("vcs_a"));
  REQUIRE(open.ok());
  REQUIRE(open->has_value());
  CHECK_FALSE((*open)->ended_at);
  REQUIRE(s->TouchConsoleSession(Sha256Hex("vcs_a"), kT0 + 60).ok());
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_a")))->last_seen_at == kT0 + 60);

  REQUIRE(s->EndConsoleSession(Sha256Hex("vcs_a"), kT0 + 70, "logout", "a").ok());
  REQUIRE(s->EndConsoleSession(Sha256Hex("vcs_a"), kT0 + 80, "logout", "a").ok());  // no second event
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_a")))->ended_at == kT0 + 70);
  CHECK(Events(*s, "staff.logout").size() == 1);

  auto n = s->EndAllConsoleSessions("stf_2", kT0 + 90, "staff:stf_1/admin");
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_b")))->ended_at);
  CHECK(s->EndAllConsoleSessions("stf_9", kT0, "x").status().code() == "not_found");

  REQUIRE(s->CreateConsoleSession(Session("vcs_d", "stf_2", kT0 + 100), {}, "b").ok());
  REQUIRE(s->SetStaffPassword("stf_2", kHash, kT0 + 110, "cli").ok());
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_d")))->ended_at == kT0 + 110);
  CHECK(s->SetStaffPassword("stf_2", "plain text", kT0, "cli").code() == "bad_staff");

  REQUIRE(s->CreateConsoleSession(Session("vcs_e", "stf_2", kT0 + 120), {}, "b").ok());
  REQUIRE(s->DisableStaff("stf_2", kT0 + 130, "staff:stf_1/admin").ok());
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_e")))->ended_at == kT0 + 130);
  CHECK(s->CreateConsoleSession(Session("vcs_f", "stf_2", kT0 + 140), {}, "b").code() == "account_disabled");
  CHECK(Events(*s, "staff.disabled").size() == 1);
  CHECK(Events(*s, "staff.password_changed").size() == 1);
  CHECK(Events(*s, "staff.logout_everywhere").size() == 1);
}

TEST_CASE("store staff: TOTP enrolment keeps the key, a step is accepted once, a recovery code works once") {
  StoreFixture f;
  auto s = f.Open();
  REQUIRE(s->AddStaff(Staff("stf_1", "wang.fang", "supervisor"), "cli").ok());
  CHECK(s->ConfirmTotpEnrolment("stf_1", 100, {}, "", kT0, "x").code() == "totp_not_pending");
  const std::string key = "0123456789abcdefghij";
  REQUIRE(s->StartTotpEnrolment("stf_1", key, kT0, "staff:stf_1/supervisor").ok());
  auto mid = s->GetStaff("stf_1");
  REQUIRE(mid.ok());
  CHECK(mid->totp_pending_secret == key);
  CHECK(mid->totp_secret.empty());
  auto enrolling = Session("vcs_a", "stf_1", kT0);
  enrolling.mfa = "enrolment_required";
  REQUIRE(s->CreateConsoleSession(enrolling, {}, "x").ok());
  const std::vector<std::string> codes{Sha256Hex("AAAA-BBBB"), Sha256Hex("CCCC-DDDD")};
  CHECK(s->ConfirmTotpEnrolment("stf_1", 100, {"not a hash"}, Sha256Hex("vcs_a"), kT0, "x").code() == "bad_recovery_code");
  REQUIRE(s->ConfirmTotpEnrolment("stf_1", 100, codes, Sha256Hex("vcs_a"), kT0, "x").ok());
  CHECK((*s->FindConsoleSession(Sha256Hex("vcs_a")))->mfa == "verified");
  auto done = s->GetStaff("stf_1");
  REQUIRE(done.ok());
  CHECK(done->totp_secret == key);
  CHECK(done->totp_pending_secret.empty());
  CHECK(done->totp_last_step == 100);
  CHECK(done->recovery_codes_left == 2);

  store::LoginProof same_step{100, ""};
  CHECK(s->CreateConsoleSession(Session("vcs_b", "stf_1", kT0 + 1), same_step, "x").code() == "totp_replayed");
  store::LoginProof next_step{101, ""};
  REQUIRE(s->CreateConsoleSession(Session("vcs_b", "stf_1", kT0 + 2), next_step, "x").ok());
  store::LoginProof recovery{std::nullopt, Sha256Hex("AAAA-BBBB")};
  REQUIRE(s->CreateConsoleSession(Session("vcs_c", "stf_1", kT0 + 3), recovery, "x").ok());
  CHECK(s->CreateConsoleSession(Session("vcs_d", "stf_1", kT0 + 4), recovery, "x").code() == "recovery_code_invalid");
  CHECK(s->GetStaff("stf_1")->recovery_codes_left == 1);
  // The key and codes are encrypted with the database: not readable in the file's bytes.
  CHECK_FALSE(Contains(f.RawBytes(), key));
  CHECK(Events(*s, "staff.totp_enrolled").size() == 1);
  for (const auto& e : Events(*s, "staff.totp_enrolled")) CHECK(e.detail_json.find(key) == std::string::npos);
}
