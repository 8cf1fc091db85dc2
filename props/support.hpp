// What every property needs: running ops on the production memblock, the
// region arrays as address sets, and keeping a failing example.
//
// `holds(property)` runs a RapidCheck property (RC_PARAMS applies: seed,
// max_success, reproduce). While RapidCheck shrinks, every failing run
// writes its ops as a trace, so the file left is the minimal counterexample;
// the failure message names it and the command that keeps it forever under
// corpus/regressions/, which ctest replays on every run.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/production.hpp"
#include "core/trace.hpp"
#include "oracle/region_array.hpp"

namespace mbfuzz {
// How RapidCheck shows an op in a counterexample: as a trace line.
inline void showValue(const Op& op, std::ostream& os) { os << format_op(op); }
inline void showValue(const Variant* v, std::ostream& os) { os << v->name(); }
}  // namespace mbfuzz

namespace mbfuzz::props {

using oracle::AddressSet;
using oracle::covered;
using oracle::interval;
namespace icl = boost::icl;


// Where counterexamples of the running property go.
struct Counterexample {
  std::filesystem::path path;
  const Variant* variant = nullptr;
  std::vector<Op> ops;
  bool written = false;

  void keep() {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path);
    out << "# counterexample of " << path.stem().string() << " on " << variant->name()
        << "; replay: mbfuzz check --variant " << variant->name() << " " << path.filename().string() << "\n"
        << format_trace(ops);
    written = true;
  }
};

inline Counterexample& counterexample() {
  static Counterexample instance;
  return instance;
}

// Records what the current run of the property is about to do.
inline void trying(const Variant& v, const std::vector<Op>& ops) {
  counterexample().variant = &v;
  counterexample().ops = ops;
}

// Runs the property; on failure, keeps the minimal counterexample.
template <class Property>
void holds(Property property) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = std::string(test->test_suite_name()) + "." + test->name();
  Counterexample& c = counterexample();
  c = Counterexample{};
  c.path = std::filesystem::absolute("props-counterexamples") / (name + ".trace");
  const bool ok = rc::check(name, [&property] {
    counterexample().variant = nullptr;
    try {
      property();
    } catch (const rc::GenerationFailure&) {
      throw;  // no value met a generator's condition: RapidCheck discards the case
    } catch (const rc::detail::CaseResult& result) {
      if (result.type == rc::detail::CaseResult::Type::Failure && counterexample().variant) counterexample().keep();
      throw;
    } catch (...) {
      if (counterexample().variant) counterexample().keep();
      throw;
    }
  });
  if (!ok && c.written)
    ADD_FAILURE() << "minimal counterexample kept in " << c.path.string() << "\nkeep it forever:\n  cp "
                  << c.path.string() << " " << MBFUZZ_SOURCE_DIR << "/corpus/regressions/" << name << ".trace";
  else if (!ok)
    ADD_FAILURE() << "the property failed before choosing its ops";
}

// The production memblock of `v` after `ops`, with each op's outcome.
struct Replay {
  explicit Replay(const Variant& v) : memblock(v) {}
  ProductionMemblock memblock;
  std::vector<Outcome> outcomes;

  const Outcome& operator()(const Op& op) { return outcomes.emplace_back(memblock.run(op)); }
  void all(const std::vector<Op>& ops) {
    for (const Op& op : ops) (*this)(op);
  }
  Snapshot state() const { return memblock.snapshot(); }
  // Whether a call failed for want of room (an isolate can then leave
  // regions split: the one time memblock leaves neighbours unmerged).
  bool ran_out_of_room() const {
    for (const Outcome& o : outcomes)
      if (const auto* e = std::get_if<Errno>(&o.value); e && e->value != 0) return true;
    return false;
  }
  bool aborted() const {
    for (const Outcome& o : outcomes)
      if (o.status == Outcome::Status::aborted) return true;
    return false;
  }
};

}  // namespace mbfuzz::props
