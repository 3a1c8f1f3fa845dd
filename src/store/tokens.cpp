// store/tokens.cpp — the API token repository: one row per lender/staff API token, holding only the
// SHA-256 of the token (api/ makes tokens and checks them). Creating and revoking a token each
// append an audit event in the same transaction (store/store.h, "API tokens").
#include <algorithm>
#include <mutex>

#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Stmt;
using detail::Translate;

namespace {

constexpr int kMaxTokensListed = 10000;

bool IsSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ApiTokenRecord ReadTokenRow(const Stmt& s) {
  ApiTokenRecord t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.sha256 = s.Text(2);
  t.created_at = s.Int(3);
  if (!s.IsNull(4)) t.revoked_at = s.Int(4);
  return t;
}

constexpr const char* kTokenColumns = "id, name, sha256, created_at, revoked_at";

}  // namespace

Status Store::AddApiToken(const ApiTokenRecord& t, const std::string& actor) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(t.id, kMaxTextBytes, "token id"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(t.name, kMaxTextBytes, "token name"));
  if (t.id.empty() || t.name.empty()) return Status::InvalidInput("bad_token", "a token needs an id and a name");
  if (!IsSha256Hex(t.sha256)) return Status::InvalidInput("bad_token", "a token is stored as the lowercase hex SHA-256 of the token, never as itself");
  if (t.revoked_at) return Status::InvalidInput("bad_token", "a new token cannot be revoked already");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("adding API token " + t.id, [&]() -> Status {
    auto st = I.Prepare("INSERT INTO api_tokens(id, name, sha256, created_at) VALUES(?,?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, t.id);
    st->Bind(2, t.name);
    st->Bind(3, t.sha256);
    st->Bind(4, t.created_at);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, "adding API token " + t.id));
    return I.AppendAuditLocked({AuditEvent{0, t.created_at, actor, "token.created", t.id,
                                           nlohmann::json{{"name", t.name}}.dump(), "", ""}})
        .status();
  });
}

Result<std::optional<ApiTokenRecord>> Store::FindApiTokenByHash(const std::string& sha256_hex) {
  if (!IsSha256Hex(sha256_hex)) return std::optional<ApiTokenRecord>();
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE sha256 = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, sha256_hex);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return std::optional<ApiTokenRecord>();
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "looking up an API token");
  return std::optional<ApiTokenRecord>(ReadTokenRow(*st));
}

Result<std::vector<ApiTokenRecord>> Store::ListApiTokens() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kTokenColumns + " FROM api_tokens ORDER BY created_at, id LIMIT ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, kMaxTokensListed);
  std::vector<ApiTokenRecord> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back(ReadTokenRow(*st));
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing API tokens");
  return out;
}

Status Store::RevokeApiToken(const std::string& id, std::int64_t at, const std::string& actor) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(id, kMaxTextBytes, "token id"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("revoking API token " + id, [&]() -> Status {
    auto st = I.Prepare("SELECT revoked_at FROM api_tokens WHERE id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    const int rc = st->Step();
    if (rc == SQLITE_DONE) return Status::NotFound("not_found", "no API token " + id + " (see veridge token list)");
    if (rc != SQLITE_ROW) return Translate(rc, I.db, "reading API token " + id);
    if (!st->IsNull(0)) return Status::Ok();  // revoked already: nothing changes, nothing to audit
    auto up = I.Prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, at);
    up->Bind(2, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "revoking API token " + id));
    return I.AppendAuditLocked({AuditEvent{0, at, actor, "token.revoked", id, "{}", "", ""}}).status();
  });
}

}  // namespace veridge::store
