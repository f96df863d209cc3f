#include "app/output.hpp"

#include <algorithm>

#include "checkpoint/durable.hpp"
#include "coordinator/usage.hpp"
#include "series/decimal.hpp"

namespace pi {
namespace {

nlohmann::json estimate_json(const Estimate& e) {
  return {{"method", e.method},
          {"error_bound", e.error_bound.to_string()},
          {"correct_digits", correct_digits(e.value, e.error_bound, 60)},
          {"estimate", truncated_decimal(e.value, 40)}};
}

nlohmann::json workers_json(const RunResult& r) {
  nlohmann::json list = nlohmann::json::array();
  for (const WorkerStats& w : r.workers) list.push_back(worker_json(w));
  return list;
}

// Rank 0's own usage, how much of the traffic between ranks went through it (workers fetch the pieces
// they need from each other), and what became of the pieces workers held.
nlohmann::json coordinator_json(const RunResult& r) {
  RankUsage u = own_usage();
  u.pieces_held = r.final_state.pieces.size();
  nlohmann::json j = usage_json(u);
  std::uint64_t between = u.bytes_sent;
  for (const WorkerStats& w : r.workers) between += w.usage.bytes_sent;
  const std::uint64_t through = u.bytes_sent + u.bytes_received;
  j["bytes_between_ranks"] = between;
  j["pieces_on_workers"] = r.pieces.on_workers;
  j["pieces_fetched_by_rank_0"] = r.pieces.fetched;
  j["pieces_recomputed"] = r.pieces.recomputed;
  j["pieces_loaded_by_workers"] = r.pieces.loaded;
  j["replicas_made"] = r.pieces.replicas;
  j["pieces_from_replicas"] = r.pieces.from_replicas;
  j["fraction_copies"] = r.pieces.fraction_copies;
  j["merges_lent"] = r.pieces.merges_lent;
  j["spread_parts"] = r.pieces.spread_parts;
  j["spread_products_restarted"] = r.pieces.spread_restarts;
  j["final_products_spread"] = r.pieces.final_products;
  j["conversion_parts"] = r.pieces.conversion_parts;
  j["conversion_parts_refused"] = r.pieces.parts_refused;
  j["share_through_rank_0"] =
      between > 0 ? std::min(1.0, static_cast<double>(through) / static_cast<double>(between)) : 0.0;
  return j;
}

nlohmann::json timing_json(const Timing& t) {
  nlohmann::json merges = nlohmann::json::object();
  for (const auto& [level, s] : t.tasks.merges_by_level_s) merges[std::to_string(level)] = s;
  return {{"evaluations_s", t.tasks.evaluations_s}, {"merges_by_level_s", merges},
          {"series_wall_s", t.series_wall_s},       {"final_steps_s", t.final_steps_s},
          {"conversion_s", t.conversion_s},         {"digit_blocks_s", t.tasks.digit_blocks_s},
          {"constant_s", t.tasks.constant_s},       {"final_with_constant", t.tasks.final_with_constant}};
}

nlohmann::json verification_json(const RunResult& r) {
  const VerificationReport& v = r.verification;
  const VerificationStats& f = v.fingerprints;
  const bool slow = make_series(r.series)->kind() == SeriesKind::slow;
  nlohmann::json primes = nlohmann::json::array();
  for (std::uint64_t p : f.primes) primes.push_back(std::to_string(p));  // beyond JSON's exact integers
  nlohmann::json fingerprints = {{"checked", !f.primes.empty()},
                                 {"primes", primes},
                                 {"pieces", f.pieces},
                                 {"products", f.products},
                                 {"conversion_blocks", f.blocks},
                                 {"mismatches", f.mismatches},
                                 {"seconds", f.seconds},
                                 {"share_of_run", r.elapsed_s > 0 ? f.seconds / r.elapsed_s : 0.0}};
  if (f.primes.empty()) fingerprints["why_not"] = slow ? "slow series have no fingerprints" : "--verify off";
  nlohmann::json bbp = {{"checked", v.bbp.checked}, {"position", v.bbp.position}, {"seconds", v.bbp.seconds}};
  if (v.bbp.checked) {
    bbp["formula_hex_digits"] = v.bbp.expected;
    bbp["result_hex_digits"] = v.bbp.found;
    bbp["agree"] = v.bbp.agree;
  } else {
    bbp["why_not"] = v.bbp.skipped;
  }
  nlohmann::json duplicates = {
      {"share", f.duplicate_share}, {"ranges", f.duplicated}, {"disagreements", f.disagreements}};
  if (f.duplicate_share <= 0 && slow)
    duplicates["why_not"] = r.workers.size() < 2 ? "one worker" : "--duplicate-share 0";
  nlohmann::json range = {{"checked", v.range_checked}, {"interval", {3.14159, 3.1416}}};
  if (v.range_checked) range["in_range"] = v.in_range;
  // Verified: a check beyond the error bound ran (fingerprints or BBP), and none failed.
  return {{"verified", v.failure.empty() && (v.bbp.checked || !f.primes.empty() || f.duplicated > 0)},
          {"failure", v.failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.failure)},
          {"fingerprints", fingerprints},
          {"duplicates", duplicates},
          {"bbp", bbp},
          {"range", range}};
}

}  // namespace

nlohmann::json summary_json(const RunResult& r) {
  const Estimate& best = r.estimates.best();
  nlohmann::json j = {{"series", r.series},
                      {"digits", r.digits ? nlohmann::json(*r.digits) : nlohmann::json(nullptr)},
                      {"terms", r.terms},
                      {"ranges", r.ranges},
                      {"estimate", r.estimate_text},
                      {"method", best.method},
                      {"correct_digits", r.correct_digits},
                      {"error_bound", best.error_bound.to_string()},
                      {"elapsed_s", r.elapsed_s},
                      {"ranks", r.ranks},
                      {"retries", r.retries},
                      {"resumes", r.resumes},
                      {"job_id", r.job_id},
                      {"workers", workers_json(r)},
                      {"coordinator", coordinator_json(r)},
                      {"timing", timing_json(r.timing)},
                      {"verification", verification_json(r)},
                      {"status", r.verification.failure.empty() ? "complete" : "failed verification"}};
  if (r.estimates.accelerated) j["partial_sum"] = estimate_json(r.estimates.partial_sum);
  if (r.pi_text || r.pi_file) j["pi_txt"] = "pi.txt";
  return j;
}

void write_outputs(const std::filesystem::path& dir, const RunResult& r, const std::string& summary) {
  if (r.pi_text) write_file_atomic(dir / "pi.txt", {*r.pi_text, "\n"});
  if (r.pi_file) {
    // Written and fsynced as the blocks arrived: it only takes its name.
    rename_file(*r.pi_file, dir / "pi.txt");
    fsync_directory(dir);
  }
  write_file_atomic(dir / "summary.json", summary);
}

}  // namespace pi
