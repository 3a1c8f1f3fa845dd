// fraud/screener.cpp — the 1:N checks of one session over the stored sessions' live templates
// (fraud.h, "the 1:N checks of one session").
#include <algorithm>

#include "fraud/fraud.h"

namespace veridge::fraud {

Result<float> ThresholdForListSize(std::size_t list_size) {
  for (const auto& row : kListSizeThresholds)
    if (list_size >= 1 && list_size <= row.list_size) return row.threshold;
  return Status::InvalidInput("list_size_unsupported",
                              "no 1:N threshold was measured for a list of " + std::to_string(list_size) +
                                  " templates (docs/fraud.md: the impostor data supports at most " +
                                  std::to_string(kMaxCertifiedListSize) + ")");
}

// ---- watchlist --------------------------------------------------------------------------------

Status Watchlist::Add(const std::string& entry_id, std::span<const float> tmpl) {
  if (entry_id.empty() || entry_id.size() > 256)
    return Status::InvalidInput("bad_entry_id", "a watchlist entry id is 1..256 bytes");
  if (std::find(entry_ids_.begin(), entry_ids_.end(), entry_id) != entry_ids_.end())
    return Status::InvalidInput("duplicate", "watchlist entry '" + entry_id + "' is already listed");
  VERIDGE_RETURN_IF_ERROR(index_.Add(static_cast<std::int64_t>(entry_ids_.size()), tmpl));
  entry_ids_.push_back(entry_id);
  return Status::Ok();
}

Result<std::vector<WatchlistHit>> Watchlist::Search(std::span<const float> query, float threshold, int max_hits) const {
  auto hits = index_.Search(query, max_hits, threshold);
  if (!hits.ok()) return hits.status();
  std::vector<WatchlistHit> out;
  for (const auto& h : *hits)
    if (h.distance < threshold) out.push_back({entry_ids_[static_cast<std::size_t>(h.id)], h.distance});
  return out;
}

// ---- screener ---------------------------------------------------------------------------------

Screener::Screener(store::Store& store, const ScreenOptions& options, float threshold, const Watchlist* watchlist)
    : store_(store), options_(options), threshold_(threshold), watchlist_(watchlist) {}

Result<std::unique_ptr<Screener>> Screener::Load(store::Store& store, const ScreenOptions& options, const Watchlist* watchlist) {
  auto threshold = ThresholdForListSize(options.list_size);
  if (!threshold.ok()) return threshold.status();
  if (options.max_hits < 1 || options.max_hits > 100)
    return Status::InvalidInput("bad_option", "max_hits must be 1..100");
  if (!(options.mismatch_threshold > 0 && options.mismatch_threshold <= 2))
    return Status::InvalidInput("bad_option", "the history mismatch threshold must be within (0, 2]");
  std::unique_ptr<Screener> s(new Screener(store, options, *threshold, watchlist));
  std::lock_guard lock(s->mu_);
  VERIDGE_RETURN_IF_ERROR(s->CatchUpLocked());
  return s;
}

std::size_t Screener::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

void Screener::AddLocked(std::int64_t id, Entry entry, std::span<const float> tmpl) {
  if (entries_.count(id)) RemoveLocked(id);
  if (!index_.Add(id, tmpl).ok()) return;  // callers pass checked templates only
  if (!entry.applicant_ref.empty()) by_ref_[entry.applicant_ref].push_back(id);
  entries_.emplace(id, std::move(entry));
}

void Screener::RemoveLocked(std::int64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (auto r = by_ref_.find(it->second.applicant_ref); r != by_ref_.end()) {
    std::erase(r->second, id);
    if (r->second.empty()) by_ref_.erase(r);
  }
  entries_.erase(it);
  index_.Remove(id);
}

Status Screener::CatchUpLocked() {
  auto read = detail::ReadStoredTemplates(store_, kLiveTemplateKind, read_up_to_,
                                          [this](const store::StoredDescriptor& row, std::span<const float> tmpl,
                                                 const Status& check) -> Status {
                                            if (!check.ok()) {
                                              if (damaged_.ok())
                                                damaged_ = Status::Corruption(
                                                    "template_damaged",
                                                    check.message() + " (session " + row.session_id +
                                                        "): the 1:N checks do not run on an incomplete gallery; run `veridge db "
                                                        "check`, and restore the store from a backup or purge that session's biometrics");
                                              return Status::Ok();
                                            }
                                            AddLocked(row.id, {row.session_id, row.applicant_ref, row.created_at}, tmpl);
                                            return Status::Ok();
                                          });
  if (!read.ok()) return read.status();
  read_up_to_ = *read;
  return Status::Ok();
}

Result<bool> Screener::StillHeldLocked(std::int64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  auto session = store_.GetSession(it->second.session_id);
  if (!session.ok() && session.status().code() != "not_found") return session.status().WithContext("checking a 1:N hit");
  if (session.ok() && !session->biometrics_purged_at) return true;
  RemoveLocked(id);  // purged (or gone) since it was indexed: it must not produce a hit
  return false;
}

Result<ScreenResult> Screener::Screen(std::span<const float> live, const std::string& applicant_ref) {
  VERIDGE_RETURN_IF_ERROR(CheckTemplate(live));
  std::lock_guard lock(mu_);
  VERIDGE_RETURN_IF_ERROR(CatchUpLocked());
  if (!damaged_.ok()) return damaged_;
  ScreenResult out;
  out.threshold = threshold_;
  out.mismatch_threshold = options_.mismatch_threshold;
  out.list_size = options_.list_size;
  const auto max_hits = static_cast<std::size_t>(options_.max_hits);

  if (!applicant_ref.empty()) {
    out.identity_checks = true;
    const auto own = by_ref_.find(applicant_ref);
    const std::size_t own_count = own == by_ref_.end() ? 0 : own->second.size();
    // duplicate_identity: the nearest templates of OTHER applicants. The k nearest overall may be
    // this applicant's own sessions, so ask for as many more; a hit whose session was purged in the
    // meantime leaves the gallery and the search runs again.
    for (bool again = true; again;) {
      again = false;
      out.duplicates.clear();
      auto hits = index_.Search(live, static_cast<int>(std::min<std::size_t>(max_hits + own_count, index_.size())), threshold_);
      if (!hits.ok()) return hits.status();
      for (const auto& h : *hits) {
        if (out.duplicates.size() == max_hits) break;
        if (!(h.distance < threshold_)) continue;
        const Entry& e = entries_.at(h.id);
        if (e.applicant_ref.empty() || e.applicant_ref == applicant_ref) continue;
        auto held = StillHeldLocked(h.id);
        if (!held.ok()) return held.status();
        if (!*held) {
          again = true;
          break;
        }
        out.duplicates.push_back({e.session_id, h.distance});
      }
    }
    // identity_history_mismatch: every earlier session of this applicant.
    if (own != by_ref_.end()) {
      const std::vector<std::int64_t> ids = own->second;  // StillHeldLocked may edit by_ref_
      std::vector<std::pair<std::int64_t, float>> far;
      for (std::int64_t id : ids) {
        auto d = index_.DistanceTo(id, live);
        if (!d) continue;
        if (*d > options_.mismatch_threshold) {
          auto held = StillHeldLocked(id);  // a mismatch is reported only for a session still held
          if (!held.ok()) return held.status();
          if (!*held) continue;
          far.push_back({id, *d});
        }
        ++out.history;
      }
      std::sort(far.begin(), far.end(), [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
      for (const auto& [id, d] : far) {
        if (out.history_mismatches.size() == max_hits) break;
        out.history_mismatches.push_back({entries_.at(id).session_id, d});
      }
    }
  }
  out.gallery = index_.size();

  if (watchlist_) {
    out.watchlist_checked = true;
    out.watchlist_size = watchlist_->size();
    auto hits = watchlist_->Search(live, threshold_, options_.max_hits);
    if (!hits.ok()) return hits.status();
    out.watchlist = std::move(*hits);
  }
  return out;
}

Status Screener::Committed(std::int64_t descriptor_id, const std::string& session_id, const std::string& applicant_ref,
                           std::int64_t created_at, std::span<const float> live) {
  VERIDGE_RETURN_IF_ERROR(CheckTemplate(live));
  std::lock_guard lock(mu_);
  AddLocked(descriptor_id, {session_id, applicant_ref, created_at}, live);
  return Status::Ok();
}

Result<store::PurgeReport> Screener::PurgeBiometrics(std::int64_t cutoff, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto rep = store_.PurgeBiometrics(cutoff, now);
  if (!rep.ok()) return rep;
  // The store purged every session created before `cutoff`: the same rule here.
  std::vector<std::int64_t> gone;
  for (const auto& [id, e] : entries_)
    if (e.created_at < cutoff) gone.push_back(id);
  for (std::int64_t id : gone) RemoveLocked(id);
  return rep;
}

}  // namespace veridge::fraud
