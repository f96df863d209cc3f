#include "mpi/fault_injection.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pi {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

}  // namespace

FaultPlan FaultPlan::from_environment(int rank) {
  const char* text = std::getenv("PI_FAULT");
  return text ? parse(text, rank) : FaultPlan{};
}

FaultPlan FaultPlan::parse(const std::string& text, int rank) {
  FaultPlan plan;
  for (const std::string& entry : split(text, ';')) {
    if (entry.empty()) continue;
    const auto f = split(entry, ':');
    const auto bad = [&] {
      return std::invalid_argument(
          "PI_FAULT entry '" + entry +
          "' is not KIND:RANK:RANGE[:TIMES[:SECONDS]] with KIND fail, hang, slow, "
          "die, diesending, corrupt, refuse (digits only) or kill, and RANGE a number, *, #N, heldN, "
          "digits, load, final, start (die:0 only) or (kill only) copiedN, finalsteps, spreadfetch, "
          "finalfetch, finalproduct or partsfetch");
    };
    if (f.size() < 3 || f.size() > 5) throw bad();
    Fault fault{};
    if (f[0] == "fail")
      fault.kind = Fault::Kind::fail;
    else if (f[0] == "hang")
      fault.kind = Fault::Kind::hang;
    else if (f[0] == "slow")
      fault.kind = Fault::Kind::slow;
    else if (f[0] == "die")
      fault.kind = Fault::Kind::die;
    else if (f[0] == "diesending")
      fault.kind = Fault::Kind::diesending;
    else if (f[0] == "corrupt")
      fault.kind = Fault::Kind::corrupt;
    else if (f[0] == "refuse")
      fault.kind = Fault::Kind::refuse;
    else if (f[0] == "kill")
      fault.kind = Fault::Kind::kill;
    else
      throw bad();
    try {
      fault.rank = f[1] == "*" ? -1 : std::stoi(f[1]);
      fault.digits = f[2] == "digits";
      fault.load = f[2] == "load";
      fault.final_value = f[2] == "final";
      if (fault.final_value && fault.kind != Fault::Kind::corrupt) throw bad();
      fault.start = f[2] == "start";
      if (fault.start && (fault.kind != Fault::Kind::die || fault.rank != 0)) throw bad();
      fault.held = f[2].starts_with("held") ? std::stoll(f[2].substr(4)) : 0;
      fault.copied = f[2].starts_with("copied") ? std::stoll(f[2].substr(6)) : 0;
      fault.final_steps = f[2] == "finalsteps";
      fault.spread_fetch = f[2] == "spreadfetch";
      fault.final_fetch = f[2] == "finalfetch";
      fault.final_product = f[2] == "finalproduct";
      fault.parts_fetch = f[2] == "partsfetch";
      if (fault.kind == Fault::Kind::refuse && !fault.digits) throw bad();
      // A kill is rank 0's: of a worker (RANK, or * for the first that qualifies) whose pieces have copies,
      // of the one given the final steps, or of one a spread product's part fetches from (RANK *); only a
      // kill has copiedN, finalsteps or spreadfetch.
      const bool kill = fault.kind == Fault::Kind::kill;
      const bool chosen_by_task = fault.final_steps || fault.spread_fetch || fault.final_fetch ||
                                  fault.final_product || fault.parts_fetch;
      if (kill != (fault.copied > 0 || chosen_by_task) || (kill && fault.copied > 0 && fault.rank == 0) ||
          (chosen_by_task && fault.rank != -1))
        throw bad();
      if (f[2].starts_with("held") && fault.held < 1) throw bad();
      fault.range = f[2] == "*" || f[2].starts_with('#') || fault.held > 0 || fault.copied > 0 ||
                            fault.digits || fault.load || fault.final_value || chosen_by_task || fault.start
                        ? -1
                        : std::stoll(f[2]);
      fault.nth = f[2].starts_with('#') ? std::stoll(f[2].substr(1)) : 0;
      if (f[2].starts_with('#') && fault.nth < 1) throw bad();
      fault.times = f.size() > 3 ? std::stoi(f[3]) : 1;
      fault.seconds = f.size() > 4 ? std::stod(f[4]) : 5.0;
    } catch (const std::exception&) {
      throw bad();
    }
    if (fault.kind == Fault::Kind::kill ? rank == 0 : fault.rank == -1 || fault.rank == rank)
      plan.faults_.push_back(fault);
  }
  return plan;
}

bool FaultPlan::covers(const Fault& f, const Task& task) const {
  // The final steps are damaged by corrupt:0:final only (FinalSteps::damage): BBP is their check.
  if (f.final_value || f.start || task.kind() == TaskKind::final_steps) return false;
  if (f.nth > 0) return f.nth == tasks_seen_;
  if (f.held > 0) return pieces_held_ >= static_cast<std::uint64_t>(f.held);
  if (f.digits) return task.kind() == TaskKind::digits;
  if (f.load) return task.kind() == TaskKind::load;
  return f.range < 0 ||
         (task.kind() == TaskKind::evaluate && static_cast<std::uint64_t>(f.range) >= task.first_range &&
          static_cast<std::uint64_t>(f.range) < task.end_range);
}

bool FaultPlan::take(Fault& f, const Task& task) const {
  if (!covers(f, task) || (f.times > 0 && f.fired >= f.times)) return false;
  ++f.fired;
  return true;
}

std::vector<int> FaultPlan::kills_due(int ranks, const std::function<std::uint64_t(int)>& copied) {
  std::vector<int> due;
  for (Fault& f : faults_) {
    if (f.kind != Fault::Kind::kill || f.fired > 0) continue;
    int target = -1;
    if (f.final_steps || f.spread_fetch || f.final_fetch || f.final_product || f.parts_fetch) {
      if (f.target >= 0 && std::chrono::steady_clock::now() >= f.due) target = f.target;
    } else {
      // RANK *: the lowest worker rank with that many. Only the job's ranks are asked.
      const int lowest = f.rank < 0 ? 1 : f.rank;
      const int end = f.rank < 0 ? ranks : std::min(ranks, f.rank + 1);
      for (int r = lowest; r < end && target < 0; ++r)
        if (copied(r) >= static_cast<std::uint64_t>(f.copied)) target = r;
    }
    if (target < 0) continue;
    ++f.fired;
    due.push_back(target);
  }
  return due;
}

void FaultPlan::assigned(const Task& task, int rank) {
  // finalsteps: the worker given them; spreadfetch (finalfetch: of the final steps' products only): the
  // first worker another holds, of a part of a spread product's phase 1 or 2, reads an input from.
  if (task.kind() == TaskKind::final_steps) {
    aim(&Fault::final_steps, rank);
    return;
  }
  // partsfetch: the worker holding the final fraction and its parts, once a part's block goes elsewhere.
  if (const auto* block = std::get_if<Digits>(&task.work)) {
    if (block->part && !block->fraction.here() && block->fraction.owner >= 0 &&
        block->fraction.owner + 1 != rank)
      aim(&Fault::parts_fetch, block->fraction.owner + 1);
    return;
  }
  const auto* spread = std::get_if<Spread>(&task.work);
  if (!spread || spread->phase == 0) return;
  for (const PieceRef& input : spread->inputs) {
    if (!input.here() && input.owner >= 0 && input.owner + 1 != rank) {
      aim(&Fault::spread_fetch, input.owner + 1);
      if (spread->final_steps) aim(&Fault::final_fetch, input.owner + 1);
      return;
    }
  }
}

void FaultPlan::product_asked(int rank) { aim(&Fault::final_product, rank); }

void FaultPlan::aim(bool Fault::*moment, int target) {
  for (Fault& f : faults_) {
    if (f.kind != Fault::Kind::kill || !(f.*moment) || f.target >= 0) continue;
    f.target = target;
    f.due =
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(f.seconds));
  }
}

bool FaultPlan::has(Fault::Kind kind, bool Fault::*moment) const {
  return std::any_of(faults_.begin(), faults_.end(),
                     [&](const Fault& f) { return f.kind == kind && f.*moment; });
}

bool FaultPlan::corrupts_final_value() const { return has(Fault::Kind::corrupt, &Fault::final_value); }

bool FaultPlan::dies_at_start() const { return has(Fault::Kind::die, &Fault::start); }

void FaultPlan::corrupt(const Task& task, TaskOutput& out) {
  for (Fault& f : faults_) {
    if (f.kind == Fault::Kind::refuse) {
      // As a part whose enclosure straddles a decimal boundary: no digits (Digits::part only).
      const auto* block = std::get_if<Digits>(&task.work);
      if (!block || !block->part || !take(f, task)) continue;
      out.digits.clear();
      out.residues.clear();
      out.part_refused = true;
      continue;
    }
    if (f.kind != Fault::Kind::corrupt || !take(f, task)) continue;
    if (task.kind() == TaskKind::digits) {
      if (out.digits.empty()) continue;
      char& c = out.digits[out.digits.size() / 2];
      c = static_cast<char>('0' + (c - '0' + 1) % 10);
      continue;
    }
    for (auto v = out.result.values.rbegin(); v != out.result.values.rend(); ++v) {
      if (*v == 0) continue;
      mpz_combit(raw(*v), mpz_sizeinbase(raw(*v), 2) / 2);
      break;
    }
  }
}

void FaultPlan::before(const Task& task) {
  ++tasks_seen_;
  for (Fault& f : faults_) {
    if (f.kind == Fault::Kind::corrupt || f.kind == Fault::Kind::diesending || f.kind == Fault::Kind::kill ||
        f.kind == Fault::Kind::refuse || !take(f, task))
      continue;
    switch (f.kind) {
      case Fault::Kind::fail:
        throw std::runtime_error("injected failure (PI_FAULT) on " + describe(task));
      case Fault::Kind::slow:
        std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
        break;
      case Fault::Kind::hang:
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
      case Fault::Kind::die:
        std::raise(SIGKILL);
        break;
      case Fault::Kind::diesending:
      case Fault::Kind::corrupt:
      case Fault::Kind::refuse:
      case Fault::Kind::kill:
        break;
    }
  }
}

bool FaultPlan::dies_sending(const Task& task) {
  for (Fault& f : faults_)
    if (f.kind == Fault::Kind::diesending && take(f, task)) return true;
  return false;
}

}  // namespace pi
