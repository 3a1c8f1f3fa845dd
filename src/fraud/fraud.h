// fraud/fraud.h — 1:N face search: the template index that the watchlist, duplicate-identity and
// history-mismatch checks (issue 15) search.
//
// Contract
//  * A template is the vision/ face descriptor: exactly kTemplateDims (128) finite floats, compared
//    by Euclidean (L2) distance, the metric and scale of vision's 1:1 compare (same person ≈ 0.35–
//    0.45, different people ≈ 0.7+). Anything else is refused (bad_template), never indexed.
//  * FlatIndex is an EXACT search: every query is compared with every template (a flat scan), so
//    its top-k is the true top-k (recall 1 by construction). The choice of an exact scan over an
//    approximate index was made by measurement (tools/bench-fraud, docs/fraud.md): at the list
//    sizes one appliance holds it meets the latency target on one core without FAISS.
//  * Results: at most k hits, sorted by ascending distance, ties broken by ascending id;
//    `max_distance` (inclusive) drops hits farther than the threshold before k is applied.
//    Distances are the L2 distance (the square root of the sum of squared differences), in float.
//  * Ids are the caller's (a store row id, a watchlist entry id): unique within an index. Adding an
//    id that is present replaces its template. Remove() forgets it (retention purges call it).
//  * Memory: 512 bytes per template, contiguous; templates live only in memory here. The index is
//    built from, and kept in step with, the encrypted store by its owner; this module never writes
//    a template to disk, to a log or into an error message.
//  * Kernel: AVX2+FMA when the CPU has it (checked at run time: the product is built for baseline
//    x86-64), else portable code the compiler vectorises (SSE2). Both give the same order; distances
//    agree to float rounding (~1e-6). Kernel() names the one in use.
//  * BuildFromStore(): the index at start, from the encrypted store's descriptors of one kind
//    (store::Store::ListDescriptors, pages of 1000; each blob is 128 little-endian floats as
//    verify/ writes them). The index id is the descriptor's row id. A blob of another size or with
//    a non-finite value fails the whole build (bad_template, naming the row id — never its bytes):
//    an index missing templates would silently miss fraud. Page copies are zeroed after use.
//  * Thread-safety: Search is const and may run on many threads at once; Add/Remove/Clear need the
//    caller's exclusive lock (the owner holds a shared_mutex). No I/O, no exceptions escape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace veridge::fraud {

inline constexpr std::size_t kTemplateDims = 128;

struct Hit {
  std::int64_t id = 0;
  float distance = 0;  // L2
};

// Checks that `tmpl` can be indexed: 128 finite values. Code bad_template.
Status CheckTemplate(std::span<const float> tmpl);

class FlatIndex {
 public:
  FlatIndex() = default;

  Status Add(std::int64_t id, std::span<const float> tmpl);
  bool Remove(std::int64_t id);  // false when the id is not indexed
  void Clear();
  void Reserve(std::size_t templates);
  std::size_t size() const { return ids_.size(); }
  bool Contains(std::int64_t id) const { return slot_.count(id) != 0; }
  // The L2 distance from `query` to the template of `id`; nullopt when the id is not indexed or
  // the query is not a valid template.
  std::optional<float> DistanceTo(std::int64_t id, std::span<const float> query) const;

  // The k nearest templates to `query` within max_distance. Code bad_template for a bad query;
  // k <= 0 gives no hits.
  Result<std::vector<Hit>> Search(std::span<const float> query, int k,
                                  float max_distance = std::numeric_limits<float>::infinity()) const;

  // "avx2+fma" or "portable".
  static const char* Kernel();

 private:
  std::vector<float> data_;             // size() * kTemplateDims, row i = template of ids_[i]
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, std::size_t> slot_;  // id -> row
};

// Adds every stored descriptor of `kind` to `index`; returns how many were added.
Result<std::size_t> BuildFromStore(store::Store& store, const std::string& kind, FlatIndex& index);

// ---- the 1:N checks of one session (issue 15, part 1) ---------------------------------------
//
//  * The gallery: the live face template of every stored session (kind kLiveTemplateKind, one per
//    session, written by verify/ in the session's commit) whose biometrics were not purged, i.e.
//    the retention window; with each its session id, applicant_ref and time.
//  * duplicate_identity: the live template's nearest gallery templates closer than the 1:N
//    threshold (ThresholdForListSize(list_size), docs/fraud.md) whose session has another,
//    non-empty applicant_ref. Not run for a session without applicant_ref (no identity claimed).
//  * identity_history_mismatch: the live template against EVERY earlier session of the same
//    non-empty applicant_ref (a 1:few comparison, not a search); each one farther than the 1:1
//    face threshold ([face].threshold, 0.6) is a different face. Not run without applicant_ref.
//  * watchlist_hit: the Watchlist's entries closer than the 1:N threshold. There is no watchlist
//    storage or import yet (issue 15, part 3): without a Watchlist the check is not run and says so.
//  * Kept in step with the store: Load() builds the gallery at start; Committed() adds a session's
//    template right after CommitDecision committed it (the caller passes the row id the commit
//    returned); every Screen() first reads the templates committed since the last read (another
//    process's sessions too: ListDescriptors with id > the last id read), and checks each hit's
//    session in the store before reporting it — a session whose biometrics were purged (by
//    PurgeBiometrics() here, or `veridge db purge` in another process) is dropped from the gallery
//    and gives no hit. A purged face therefore never produces a hit.
//  * Fail closed: a stored live template that is not 128 finite floats makes the screener
//    `damaged`: every Screen() then fails with template_damaged (kCorruption) naming the row id
//    (never its bytes), and no check runs on a partial gallery. Store errors are returned as is.
//  * Templates stay in memory only (never logged, never in a result or error); the page copies
//    read from the store are zeroed after use.
//  * Thread-safety: every method takes the screener's mutex (a session's screen, a commit's add
//    and a purge are serialised); the store is called under it.

// The template kind a session's live face is stored under and searched with: the descriptor of
// the capture frame the face factor ranked best (one per session).
inline constexpr const char* kLiveTemplateKind = "face_live";

// The rows of docs/fraud.md's threshold table that the measured impostor data supports: for a
// list of up to `list_size` templates, a distance below `threshold` is a 1:N hit with FPIR <= 1e-3
// (95 % upper bound).
struct ListSizeThreshold {
  std::size_t list_size;
  float threshold;
};
inline constexpr ListSizeThreshold kListSizeThresholds[] = {{100, 0.414f}, {1000, 0.348f}};
inline constexpr std::size_t kMaxCertifiedListSize = 1000;

// The threshold of the smallest measured list size >= `list_size`. Code list_size_unsupported
// (kInvalidInput) for 0 or above kMaxCertifiedListSize: no threshold was measured for it.
Result<float> ThresholdForListSize(std::size_t list_size);

struct ScreenOptions {
  // [fraud].list_size: the most templates a 1:N search is certified for; picks the threshold.
  std::size_t list_size = kMaxCertifiedListSize;
  // [face].threshold: an earlier session of the same applicant farther than this is another face.
  double mismatch_threshold = 0.6;
  // [fraud].max_hits: hits reported per check, nearest first.
  int max_hits = 5;
};

struct SessionHit {
  std::string session_id;
  float distance = 0;  // L2
};

struct WatchlistHit {
  std::string entry_id;
  float distance = 0;  // L2
};

// A watchlist searched by the watchlist_hit check. Only the in-memory seam exists: the signed
// bundle import and its storage (issue 15, part 3) are not built, so nothing fills it in the
// product yet. Not thread-safe for writes; Search is const.
class Watchlist {
 public:
  // Code bad_template, or duplicate for an entry id already present; entry ids are 1..256 bytes.
  Status Add(const std::string& entry_id, std::span<const float> tmpl);
  std::size_t size() const { return index_.size(); }
  // Entries closer than `threshold`, nearest first, at most `max_hits`.
  Result<std::vector<WatchlistHit>> Search(std::span<const float> query, float threshold, int max_hits) const;

 private:
  FlatIndex index_;
  std::vector<std::string> entry_ids_;  // index id = position here
};

struct ScreenResult {
  float threshold = 0;               // the 1:N threshold used (duplicate_identity, watchlist_hit)
  double mismatch_threshold = 0;     // identity_history_mismatch's
  std::size_t list_size = 0;         // as configured
  std::size_t gallery = 0;           // live templates in the retention window, searched
  bool identity_checks = false;      // false: no applicant_ref, duplicate/history not run
  std::vector<SessionHit> duplicates;          // same face, another applicant_ref; nearest first
  std::size_t history = 0;                     // earlier sessions of this applicant_ref compared
  std::vector<SessionHit> history_mismatches;  // those farther than mismatch_threshold; farthest first
  bool watchlist_checked = false;    // false: no watchlist on this appliance
  std::size_t watchlist_size = 0;
  std::vector<WatchlistHit> watchlist;         // nearest first
};

class Screener {
 public:
  // Builds the gallery from the store. `watchlist` (not owned, may be null) must outlive it.
  // Code list_size_unsupported for a list size without a measured threshold; store errors as is.
  // A damaged template does not fail the load (see "Fail closed").
  static Result<std::unique_ptr<Screener>> Load(store::Store& store, const ScreenOptions& options,
                                                const Watchlist* watchlist = nullptr);

  // The three checks for one session's live template. Code bad_template for a bad query,
  // template_damaged (see above), store errors.
  Result<ScreenResult> Screen(std::span<const float> live, const std::string& applicant_ref);

  // The session was committed with its live template as descriptor row `descriptor_id`.
  Status Committed(std::int64_t descriptor_id, const std::string& session_id, const std::string& applicant_ref,
                   std::int64_t created_at, std::span<const float> live);

  // store::Store::PurgeBiometrics, then the purged sessions' templates leave the gallery.
  Result<store::PurgeReport> PurgeBiometrics(std::int64_t cutoff, std::int64_t now);

  std::size_t size() const;
  float threshold() const { return threshold_; }

 private:
  struct Entry {
    std::string session_id;
    std::string applicant_ref;
    std::int64_t created_at = 0;
  };
  Screener(store::Store& store, const ScreenOptions& options, float threshold, const Watchlist* watchlist);
  Status CatchUpLocked();  // templates committed since the last read
  void AddLocked(std::int64_t id, Entry entry, std::span<const float> tmpl);
  void RemoveLocked(std::int64_t id);
  // Whether the hit's session still holds its biometrics; drops it from the gallery if not.
  Result<bool> StillHeldLocked(std::int64_t id);

  store::Store& store_;
  const ScreenOptions options_;
  const float threshold_;
  const Watchlist* watchlist_;
  mutable std::mutex mu_;
  FlatIndex index_;
  std::unordered_map<std::int64_t, Entry> entries_;
  std::map<std::string, std::vector<std::int64_t>> by_ref_;  // non-empty applicant_ref -> ids
  std::int64_t read_up_to_ = 0;  // highest descriptor id read from the store
  Status damaged_;               // the first damaged template met, if any
};

namespace detail {
// Squared L2 distances from `query` to each of the `rows` templates at `data` (row-major, 128
// floats each) into out[0..rows). Exposed so tests can check both kernels against each other.
void SquaredDistancesPortable(const float* query, const float* data, std::size_t rows, float* out);
void SquaredDistancesAvx2(const float* query, const float* data, std::size_t rows, float* out);  // only if CPU has AVX2+FMA
bool CpuHasAvx2Fma();

// Reads the stored templates of `kind` with row id > after_id, pages of 1000, and calls
// visit(row, tmpl, check) for each: `check` is bad_template (naming the row id, never the bytes)
// when the blob is not 128 finite floats, and `tmpl` is then empty. A non-ok return from visit
// stops the read and is returned. Each page's plaintext copies are zeroed after use. Returns the
// highest row id read (after_id when there was none).
using TemplateVisitor = std::function<Status(const store::StoredDescriptor& row, std::span<const float> tmpl, const Status& check)>;
Result<std::int64_t> ReadStoredTemplates(store::Store& store, const std::string& kind, std::int64_t after_id,
                                         const TemplateVisitor& visit);
}  // namespace detail

}  // namespace veridge::fraud
