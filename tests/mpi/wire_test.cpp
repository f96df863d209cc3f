// The coordinator-worker protocol as bytes, and the fault-injection plan's parser; no MPI is started.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "mpi/fault_injection.hpp"
#include "mpi/wire.hpp"

namespace pi {
namespace {

PartialResult partial(std::uint64_t begin, std::uint64_t end, std::initializer_list<const char*> values) {
  PartialResult r{{begin, end}, {}};
  for (const char* v : values) r.values.emplace_back(v);
  return r;
}

TEST(Wire, EvaluateTaskRoundTrips) {
  Task t;
  t.id = 17;
  t.work = Evaluate{{1000, 5000}, 1000, true};
  t.first_range = 1;
  t.end_range = 5;
  t.allowed_s = 2.5;
  t.check_primes = {(std::uint64_t{1} << 61) + 15, (std::uint64_t{1} << 61) + 21};
  const Bytes bytes = encode_task(t);
  EXPECT_EQ(bytes.size() % kBlock, 0u);
  const Task u = decode_task(bytes);
  EXPECT_EQ(u.id, t.id);
  EXPECT_EQ(u.kind(), TaskKind::evaluate);
  EXPECT_EQ(u.as<Evaluate>().range, (Range{1000, 5000}));
  EXPECT_EQ(u.as<Evaluate>().step, 1000u);
  EXPECT_TRUE(u.as<Evaluate>().is_suffix);
  EXPECT_EQ(u.first_range, t.first_range);
  EXPECT_EQ(u.end_range, t.end_range);
  EXPECT_EQ(u.allowed_s, t.allowed_s);
  EXPECT_EQ(u.check_primes, t.check_primes);
}

TEST(Wire, MergeAndDigitsTasksCarryTheirIntegersExactly) {
  Task merge;
  const Merge operands{PieceRef::held_here(std::make_shared<PartialResult>(
                           partial(0, 10, {"-123456789012345678901234567890123456789", "0", "1"}))),
                       PieceRef::held_here(std::make_shared<PartialResult>(
                           partial(10, 20, {"18446744073709551616", "-1", "7"})))};
  merge.work = operands;
  merge.keep = true;
  merge.estimate_bits = 1024;
  const Task m = decode_task(encode_task(merge));
  ASSERT_EQ(m.kind(), TaskKind::merge);
  EXPECT_EQ(*m.as<Merge>().left.data, *operands.left.data);
  EXPECT_EQ(*m.as<Merge>().right.data, *operands.right.data);
  EXPECT_EQ(m.as<Merge>().right.shape, (Shape{65, -1, 3}));
  EXPECT_TRUE(m.keep);
  EXPECT_EQ(m.estimate_bits, 1024u);

  Task digits;
  const Digits block{PieceRef::held_here(std::make_shared<PartialResult>(
                         partial(0, 0, {"31415926535897932384626433832795"}))),
                     100,
                     40,
                     20,
                     std::nullopt,
                     0};
  digits.work = block;
  const Task d = decode_task(encode_task(digits));
  ASSERT_EQ(d.kind(), TaskKind::digits);
  EXPECT_EQ(*d.as<Digits>().fraction.data, *block.fraction.data);
  EXPECT_EQ(d.as<Digits>().scale_bits, 100u);
  EXPECT_EQ(d.as<Digits>().first, 40u);
  EXPECT_EQ(d.as<Digits>().count, 20u);
  EXPECT_FALSE(d.as<Digits>().part);

  // A part's block: of a fraction here only the part's value travels (it becomes value 0), with the
  // enclosure's error and, for the first part, the integer part; of one on a worker, which value to fetch.
  Task part_block;
  Digits with_part{PieceRef::held_here(std::make_shared<PartialResult>(
                       partial(0, 0, {"31415926535897932384626433832795", "271828", "1414213"}))),
                   64,
                   3,
                   5,
                   PartEnclosure{9, 3},
                   2};
  part_block.work = with_part;
  const Task pd = decode_task(encode_task(part_block));
  ASSERT_EQ(pd.kind(), TaskKind::digits);
  EXPECT_EQ(pd.as<Digits>().fraction.data->values, std::vector<BigInt>{BigInt(1414213)});
  EXPECT_EQ(pd.as<Digits>().value, 0u);
  ASSERT_TRUE(pd.as<Digits>().part);
  EXPECT_EQ(pd.as<Digits>().part->err, 9u);
  EXPECT_EQ(pd.as<Digits>().part->integer, std::optional<std::uint64_t>(3));
  with_part.fraction = PieceRef{};
  with_part.fraction.owner = 2;
  with_part.fraction.key = 11;
  with_part.fraction.shape = {105, 19, 21};
  with_part.part = PartEnclosure{0, std::nullopt};
  part_block.work = with_part;
  const Task rd = decode_task(encode_task(part_block));
  EXPECT_EQ(rd.as<Digits>().value, 2u);
  EXPECT_EQ(rd.as<Digits>().fraction.owner, 2);
  EXPECT_FALSE(rd.as<Digits>().part->integer);
  with_part.value = 3;  // past the piece's values
  part_block.work = with_part;
  EXPECT_THROW(decode_task(encode_task(part_block)), WireError);

  // A product carries its two factors only, the right one cut to its slice: the worker's product is the
  // coordinator's.
  Task product;
  Product part;
  part.left = operands.left;
  part.right = operands.right;
  part.merge = 99;
  part.part = 3;
  part.parts = 6;
  part.factor_left = 0;
  part.factor_right = 0;
  part.slice = 1;
  part.slices = 2;
  product.work = part;
  const Task p = decode_task(encode_task(product));
  ASSERT_EQ(p.kind(), TaskKind::product);
  EXPECT_EQ(p.as<Product>().merge, 99u);
  EXPECT_EQ(p.as<Product>().part, 3u);
  EXPECT_EQ(p.as<Product>().parts, 6u);
  EXPECT_EQ(p.as<Product>().right.data->values.at(0), product_factor(part));
  EXPECT_EQ(p.as<Product>().left.data->values.at(0), operands.left.data->values.at(0));
}

TEST(Wire, PiecesOnWorkersTravelAsWhereTheyAre) {
  // A merge of a piece here and one a worker holds: the second goes as owner, key, shape and residues.
  PieceRef held;
  held.range = Range{10, 20};
  held.owner = 2;
  held.key = 4711;
  held.shape = {130, -64, 0};
  held.residues = {1, 2, 3, 4, 5, 6};
  Task merge;
  merge.work =
      Merge{PieceRef::held_here(std::make_shared<PartialResult>(partial(0, 10, {"5", "6", "7"}))), held};
  const Task m = decode_task(encode_task(merge));
  const PieceRef& right = m.as<Merge>().right;
  EXPECT_FALSE(right.here());
  EXPECT_EQ(right.range, held.range);
  EXPECT_EQ(right.owner, 2);
  EXPECT_EQ(right.key, 4711u);
  EXPECT_EQ(right.shape, held.shape);
  EXPECT_EQ(right.residues, held.residues);
  EXPECT_TRUE(m.as<Merge>().left.here());

  // A product with a held right factor names the value to fetch (it is never cut then).
  Task product;
  Product part;
  part.left = m.as<Merge>().left;
  part.right = held;
  part.factor_left = 2;
  part.factor_right = 1;
  product.work = part;
  const Task p = decode_task(encode_task(product));
  EXPECT_EQ(p.as<Product>().left.data->values.at(0), BigInt(7));
  EXPECT_EQ(p.as<Product>().factor_left, 0u);
  EXPECT_FALSE(p.as<Product>().right.here());
  EXPECT_EQ(p.as<Product>().factor_right, 1u);
  EXPECT_EQ(p.as<Product>().right.key, 4711u);

  // A kept result: its shape, residues and the worker's estimate, exactly.
  TaskOutput out;
  out.result = PartialResult{Range{0, 20}, {}};
  out.kept = true;
  out.shape = {100000, -99999, 3};
  out.residues = {9, 8, 7};
  Estimate e;
  e.value = make_real(200);
  mpfr_const_pi(raw(e.value), MPFR_RNDN);
  e.error_bound = UpperBound::pow2(-150);
  e.method = "binary splitting";
  out.lead = std::make_shared<const Estimate>(e);
  const ResultMessage r = decode_result(encode_result(5, 0.5, out));
  EXPECT_TRUE(r.output.kept);
  EXPECT_EQ(r.output.shape, out.shape);
  EXPECT_EQ(r.output.residues, out.residues);
  EXPECT_TRUE(r.output.result.values.empty());
  ASSERT_TRUE(r.output.lead);
  EXPECT_EQ(mpfr_get_prec(raw(r.output.lead->value)), 200);
  EXPECT_EQ(mpfr_cmp(raw(r.output.lead->value), raw(e.value)), 0);
  EXPECT_EQ(mpfr_cmp(raw(r.output.lead->error_bound.value()), raw(e.error_bound.value())), 0);
  EXPECT_EQ(r.output.lead->method, "binary splitting");

  // The final steps on the root's owner, and a block whose fraction a worker holds: where they are.
  Task steps;
  PieceRef root = held;
  root.range = Range{0, 20};
  steps.work = FinalSteps{root, 4096, 1000, true, std::nullopt, 1 << 22, 1200, 8};
  const Task s = decode_task(encode_task(steps));
  EXPECT_EQ(s.as<FinalSteps>().spread_bits, 1u << 22);
  EXPECT_EQ(s.as<FinalSteps>().decimals, 1200u);
  EXPECT_EQ(s.as<FinalSteps>().split_parts, 8u);
  ASSERT_EQ(s.kind(), TaskKind::final_steps);
  EXPECT_EQ(s.as<FinalSteps>().root.key, 4711u);
  EXPECT_EQ(s.as<FinalSteps>().root.range, (Range{0, 20}));
  EXPECT_FALSE(s.as<FinalSteps>().root.here());
  EXPECT_EQ(s.as<FinalSteps>().bits, 4096u);
  EXPECT_EQ(s.as<FinalSteps>().bbp_position, 1000u);
  EXPECT_TRUE(s.as<FinalSteps>().damage);
  EXPECT_FALSE(s.as<FinalSteps>().constant);
  // With the constant a worker computed (Constant): where it is, with its fingerprint.
  PieceRef constant;
  constant.owner = 1;
  constant.key = 99;
  constant.shape = {4096, 7};
  constant.residues = {1, 2, 3, 4};
  steps.as<FinalSteps>().constant = constant;
  const Task with = decode_task(encode_task(steps));
  ASSERT_TRUE(with.as<FinalSteps>().constant);
  EXPECT_EQ(with.as<FinalSteps>().constant->owner, 1);
  EXPECT_EQ(with.as<FinalSteps>().constant->key, 99u);
  EXPECT_EQ(with.as<FinalSteps>().constant->shape, constant.shape);
  EXPECT_EQ(with.as<FinalSteps>().constant->residues, constant.residues);
  EXPECT_EQ(with.as<FinalSteps>().root.key, 4711u);
  EXPECT_EQ(with.as<FinalSteps>().bits, 4096u);
  // One not of two values is refused.
  steps.as<FinalSteps>().constant->shape = {4096};
  EXPECT_THROW(decode_task(encode_task(steps)), WireError);
  Task constant_task;
  constant_task.work = Constant{123457, 4194304};
  const Task c = decode_task(encode_task(constant_task));
  ASSERT_EQ(c.kind(), TaskKind::constant);
  EXPECT_EQ(c.as<Constant>().bits, 123457u);
  EXPECT_EQ(c.as<Constant>().spread_bits, 4194304u);
  // A piece of a resumed job to read from its file: where, its size and CRC-32, its terms and values.
  Task load_task;
  load_task.first_range = 8;
  load_task.end_range = 16;
  load_task.keep = true;
  load_task.work =
      Load{"/out/pieces/p000003-r000001-000008-000016.h5", 123456789, 0xdeadbeef, Range{1000, 2000}, 3, true};
  const Task l = decode_task(encode_task(load_task));
  ASSERT_EQ(l.kind(), TaskKind::load);
  EXPECT_EQ(l.as<Load>().path, load_task.as<Load>().path);
  EXPECT_EQ(l.as<Load>().bytes, 123456789u);
  EXPECT_EQ(l.as<Load>().crc32, 0xdeadbeefu);
  EXPECT_EQ(l.as<Load>().range, (Range{1000, 2000}));
  EXPECT_EQ(l.as<Load>().values, 3u);
  EXPECT_TRUE(l.as<Load>().is_suffix);
  EXPECT_TRUE(l.keep);
  EXPECT_EQ(l.end_range, 16u);
  load_task.as<Load>().values = 0;  // a piece of no values is refused
  EXPECT_THROW(decode_task(encode_task(load_task)), WireError);
  // A copy of a piece another worker holds (replicas): where it is, with its fingerprint to check it by.
  Task copy_task;
  copy_task.first_range = 4;
  copy_task.end_range = 8;
  copy_task.keep = true;
  copy_task.work = Copy{constant};
  const Task k = decode_task(encode_task(copy_task));
  ASSERT_EQ(k.kind(), TaskKind::copy);
  EXPECT_FALSE(k.as<Copy>().piece.here());
  EXPECT_EQ(k.as<Copy>().piece.owner, 1);
  EXPECT_EQ(k.as<Copy>().piece.key, 99u);
  EXPECT_EQ(k.as<Copy>().piece.residues, constant.residues);
  EXPECT_TRUE(k.keep);
  EXPECT_EQ(k.first_range, 4u);
  copy_task.as<Copy>().piece =
      PieceRef::held_here(std::make_shared<PartialResult>(PartialResult{Range{0, 4}, {BigInt(5)}}));
  EXPECT_THROW(decode_task(encode_task(copy_task)), WireError) << "a copy of a piece no worker holds";
  PieceRef fraction = held;
  fraction.shape = {4094};
  fraction.residues = {11, 12};
  Task remote_block;
  remote_block.work = Digits{fraction, 4094, 0, 1200, std::nullopt, 0};
  const Task b = decode_task(encode_task(remote_block));
  EXPECT_FALSE(b.as<Digits>().fraction.here());
  EXPECT_EQ(b.as<Digits>().fraction.owner, 2);
  EXPECT_EQ(b.as<Digits>().fraction.residues, fraction.residues);
  EXPECT_EQ(b.as<Digits>().count, 1200u);
  // An assembly names its parts where they are, with the operands' ranges and shapes only.
  Task assembly;
  PieceRef held_part = held;
  held_part.shape = {900};
  held_part.residues = {5, 6};
  assembly.work = Assemble{
      77,
      Range{0, 10},
      Shape{10, -20, 30},
      Range{10, 20},
      Shape{40, 50, -60},
      2,
      {held_part,
       PieceRef::held_here(std::make_shared<PartialResult>(partial(0, 20, {"-987654321987654321"})))}};
  const Task as = decode_task(encode_task(assembly));
  ASSERT_EQ(as.kind(), TaskKind::assemble);
  const Assemble& got = as.as<Assemble>();
  EXPECT_EQ(got.merge, 77u);
  EXPECT_EQ(got.left_range, (Range{0, 10}));
  EXPECT_EQ(got.right_shape, (Shape{40, 50, -60}));
  EXPECT_EQ(got.slices, 2u);
  ASSERT_EQ(got.parts.size(), 2u);
  EXPECT_FALSE(got.parts[0].here());
  EXPECT_EQ(got.parts[0].key, 4711u);
  EXPECT_EQ(got.parts[0].residues, held_part.residues);
  ASSERT_TRUE(got.parts[1].here());
  EXPECT_EQ(got.parts[1].data->values.at(0), BigInt("-987654321987654321"));
  // Its summary, exactly.
  TaskOutput final_out;
  final_out.result = PartialResult{Range{0, 20}, {}};
  final_out.kept = true;
  final_out.shape = {4094};
  final_out.residues = {11, 12};
  auto summary = std::make_shared<FinalSummary>();
  summary->estimate = e;
  summary->head = "3.14159265358979323846";
  summary->scale_bits = 4094;
  summary->convertible = true;
  summary->bbp_high = 0x243F6A8885A308D3ULL;
  summary->bbp_low = 0x13198A2E03707344ULL;
  final_out.summary = summary;
  const ResultMessage fr = decode_result(encode_result(6, 2.0, final_out));
  ASSERT_TRUE(fr.output.summary);
  EXPECT_EQ(mpfr_cmp(raw(fr.output.summary->estimate.value), raw(e.value)), 0);
  EXPECT_EQ(fr.output.summary->estimate.method, "binary splitting");
  EXPECT_EQ(fr.output.summary->head, summary->head);
  EXPECT_EQ(fr.output.summary->scale_bits, 4094u);
  EXPECT_TRUE(fr.output.summary->convertible);
  EXPECT_EQ(fr.output.summary->bbp_high, summary->bbp_high);
  EXPECT_EQ(fr.output.summary->bbp_low, summary->bbp_low);
  EXPECT_FALSE(r.output.summary);

  // A fetch and its answer: the asked-for values only, in the order asked; a piece not held says so.
  const FetchRequest q = decode_fetch(encode_fetch(FetchRequest{77, 4711, {2, 0}, std::nullopt}));
  EXPECT_EQ(q.request, 77u);
  EXPECT_EQ(q.key, 4711u);
  EXPECT_EQ(q.values, (std::vector<std::uint64_t>{2, 0}));
  const PartialResult piece = partial(10, 20, {"-5", "6", "123456789012345678901234567890"});
  const FetchAnswer a = decode_fetch_answer(encode_fetch_answer(77, &piece, q.values));
  EXPECT_TRUE(a.found);
  EXPECT_EQ(a.piece, partial(10, 20, {"123456789012345678901234567890", "-5"}));
  EXPECT_EQ(decode_fetch_answer(encode_fetch_answer(78, &piece, {})).piece, piece);
  EXPECT_FALSE(decode_fetch_answer(encode_fetch_answer(79, nullptr, {})).found);
  EXPECT_EQ(decode_keys(encode_keys({3, 1, 4})), (std::vector<std::uint64_t>{3, 1, 4}));
  const FailureMessage f = decode_failure(encode_failure(8, "rank 3 did not give piece 4711", 2, 4711, true));
  EXPECT_EQ(f.owner, 2);
  EXPECT_EQ(f.key, 4711u);
  EXPECT_TRUE(f.silent);
}

// A random integer of exactly `limbs` limbs.
BigInt random_limbs(std::mt19937_64& rng, std::size_t limbs) {
  BigInt x;
  mp_limb_t* p = mpz_limbs_write(raw(x), static_cast<mp_size_t>(limbs));
  for (std::size_t i = 0; i < limbs; ++i) p[i] = rng();
  p[limbs - 1] |= mp_limb_t{1} << 63;
  mpz_limbs_finish(raw(x), static_cast<mp_size_t>(limbs));
  return x;
}

TEST(Wire, SpreadPartsTravelAsTheirShares) {
  std::mt19937_64 rng(20261206);
  const BigInt a = random_limbs(rng, 3000), b = random_limbs(rng, 2500);
  Spread columns;
  columns.merge = 41;
  columns.product = 2;
  columns.phase = 0;
  columns.part = 1;
  columns.parts = 4;
  columns.factor_left = 1;
  columns.factor_right = 0;
  columns.left_limbs = 3000;
  columns.right_limbs = 2500;
  columns.range = Range{0, 64};
  // The left factor here (value 1 of its piece), the right one on worker 3.
  columns.inputs.push_back(
      PieceRef::held_here(std::make_shared<PartialResult>(PartialResult{{0, 32}, {BigInt(5), a}})));
  PieceRef held;
  held.range = Range{32, 64};
  held.owner = 3;
  held.key = 99;
  held.shape = {160000, 7};
  held.residues = {11, 12};
  columns.inputs.push_back(held);
  Task task;
  task.id = 5;
  task.work = columns;
  Task got = decode_task(encode_task(task));
  ASSERT_EQ(got.kind(), TaskKind::spread);
  Spread& s = got.as<Spread>();
  EXPECT_EQ(s.merge, 41u);
  EXPECT_EQ(s.product, 2u);
  EXPECT_EQ(s.part, 1u);
  EXPECT_EQ(s.parts, 4u);
  EXPECT_EQ(s.left_limbs, 3000u);
  EXPECT_EQ(s.range, (Range{0, 64}));
  EXPECT_TRUE(s.runs);
  const SpreadPlan plan = spread_plan(columns);
  // Of the factor here only its runs for this part travel: a quarter of it, padded to whole pieces.
  ASSERT_TRUE(s.inputs[0].here());
  ASSERT_EQ(s.inputs[0].data->values.size(), 1u);
  EXPECT_EQ(s.inputs[0].data->values[0], column_runs_integer(plan, raw(a), 1));
  EXPECT_LT(mpz_size(raw(s.inputs[0].data->values[0])), 3000u / 2);
  EXPECT_FALSE(s.inputs[1].here());
  EXPECT_EQ(s.inputs[1].key, 99u);
  EXPECT_EQ(s.inputs[1].residues, held.residues);
  // The runs a worker fetches of the other factor give the part's output as the whole factors do.
  s.inputs[1].data =
      std::make_shared<PartialResult>(PartialResult{held.range, {column_runs_integer(plan, raw(b), 1)}});
  Spread whole = columns;
  whole.inputs[1] =
      PieceRef::held_here(std::make_shared<PartialResult>(PartialResult{{32, 64}, {b, BigInt(7)}}));
  EXPECT_EQ(execute_spread(s).values, execute_spread(whole).values);
  EXPECT_EQ(execute_spread(s).values.size(), 2 * plan.rows());

  // A later phase's inputs go as where they are.
  Spread rows = columns;
  rows.phase = 1;
  rows.inputs.assign(4, held);
  task.work = rows;
  got = decode_task(encode_task(task));
  EXPECT_FALSE(got.as<Spread>().runs);
  ASSERT_EQ(got.as<Spread>().inputs.size(), 4u);
  EXPECT_EQ(got.as<Spread>().inputs[3].key, 99u);
  // A part of a phase that can't be is refused.
  rows.parts = 3;
  task.work = rows;
  EXPECT_THROW(decode_task(encode_task(task)), WireError);

  // A fetch of runs carries the plan and the value's fingerprint, which the owner checks; its damaged
  // answer says so.
  FetchRequest ask{8, 99, {0}, FetchRequest::Runs{3000, 2500, 4, 1, {101, 103}, {11, 12}}};
  const FetchRequest q = decode_fetch(encode_fetch(ask));
  ASSERT_TRUE(q.runs);
  EXPECT_EQ(q.runs->a_limbs, 3000u);
  EXPECT_EQ(q.runs->b_limbs, 2500u);
  EXPECT_EQ(q.runs->parts, 4u);
  EXPECT_EQ(q.runs->part, 1u);
  EXPECT_EQ(q.runs->primes, (std::vector<std::uint64_t>{101, 103}));
  EXPECT_EQ(q.runs->residues, (std::vector<std::uint64_t>{11, 12}));
  const FetchAnswer damaged = decode_fetch_answer(encode_fetch_damaged(8));
  EXPECT_FALSE(damaged.found);
  EXPECT_TRUE(damaged.damaged);
  EXPECT_FALSE(decode_fetch_answer(encode_fetch_answer(8, nullptr, {})).damaged);
  ask.runs->parts = 6;
  EXPECT_THROW(decode_fetch(encode_fetch(ask)), WireError);
  ask.runs->parts = 4;
  ask.values = {0, 1};  // runs of one value only
  EXPECT_THROW(decode_fetch(encode_fetch(ask)), WireError);

  // A final steps' worker asks for a product of two factors it holds; rank 0 answers with its runs, or
  // refuses.
  PieceRef factor = held;
  factor.shape = {5000000};
  factor.residues = {7, 8};
  const ProductRequest pr =
      decode_product_request(encode_product_request(ProductRequest{61, 3, true, factor, factor}));
  EXPECT_EQ(pr.task_id, 61u);
  EXPECT_EQ(pr.n, 3u);
  EXPECT_TRUE(pr.again);
  EXPECT_EQ(pr.a.key, 99u);
  EXPECT_EQ(pr.a.shape, factor.shape);
  EXPECT_EQ(pr.a.residues, factor.residues);
  EXPECT_THROW(decode_product_request(encode_product_request(ProductRequest{61, 3, false, factor, held})),
               WireError)
      << "two values in a factor";
  const Scheduler::ProductDone done =
      decode_product_done(encode_product_done(Scheduler::ProductDone{2, 61, 3, 2, false, {held, factor}}));
  EXPECT_EQ(done.task, 61u);
  EXPECT_EQ(done.n, 3u);
  EXPECT_EQ(done.parts, 2u);
  EXPECT_FALSE(done.refused);
  ASSERT_EQ(done.runs.size(), 2u);
  EXPECT_EQ(done.runs[1].shape, factor.shape);
  EXPECT_TRUE(
      decode_product_done(encode_product_done(Scheduler::ProductDone{2, 61, 4, 0, true, {}})).refused);
  EXPECT_THROW(decode_product_done(encode_product_done(Scheduler::ProductDone{2, 61, 4, 3, false, {held}})),
               WireError);

  // An assembly of spread products' parts: each part its runs, several values.
  Task assembly;
  PieceRef runs = held;
  runs.shape = {900, 800, 0};
  runs.residues = {1, 2, 3, 4, 5, 6};
  assembly.work = Assemble{41, Range{0, 32}, Shape{10}, Range{32, 64}, Shape{20}, 1, {runs, runs}, 2};
  const Task as = decode_task(encode_task(assembly));
  EXPECT_EQ(as.as<Assemble>().spread_parts, 2u);
  ASSERT_EQ(as.as<Assemble>().parts.size(), 2u);
  EXPECT_EQ(as.as<Assemble>().parts[1].shape, runs.shape);
}

TEST(Wire, ResultFailureAndTextRoundTrip) {
  TaskOutput out;
  out.result = partial(5, 9, {"99999999999999999999999999", "-42"});
  out.digits = "14159";
  out.residues = {3, 1, 4};
  const RankUsage usage{1234567890123, 42, 7, 3};
  const ResultMessage r = decode_result(encode_result(99, 1.25, out, usage));
  EXPECT_EQ(r.task_id, 99u);
  EXPECT_EQ(r.compute_s, 1.25);
  EXPECT_EQ(r.output.result, out.result);
  EXPECT_EQ(r.output.digits, out.digits);
  EXPECT_EQ(r.output.residues, out.residues);
  EXPECT_EQ(r.usage.peak_rss_bytes, 1234567890123u);
  EXPECT_EQ(r.usage.bytes_sent, 42u);
  EXPECT_EQ(r.usage.bytes_received, 7u);
  EXPECT_EQ(r.usage.pieces_held, 3u);
  EXPECT_FALSE(r.output.summary);
  EXPECT_FALSE(r.output.part_refused);

  // The final steps' summary with the split's parts; a refused part's answer.
  auto summary = std::make_shared<FinalSummary>();
  summary->estimate.value = make_real(64);
  mpfr_set_d(raw(summary->estimate.value), 3.25, MPFR_RNDN);
  summary->head = "3.25";
  summary->scale_bits = 1000;
  summary->convertible = true;
  summary->integer = 3;
  summary->parts = {{0, 150, 1000, 0}, {150, 151, 580, 17}};
  out.summary = summary;
  out.part_refused = true;
  const ResultMessage s = decode_result(encode_result(5, 0.5, out, usage));
  ASSERT_TRUE(s.output.summary);
  EXPECT_EQ(s.output.summary->integer, 3u);
  ASSERT_EQ(s.output.summary->parts.size(), 2u);
  EXPECT_EQ(s.output.summary->parts[1].first, 150u);
  EXPECT_EQ(s.output.summary->parts[1].count, 151u);
  EXPECT_EQ(s.output.summary->parts[1].scale_bits, 580u);
  EXPECT_EQ(s.output.summary->parts[1].err, 17u);
  EXPECT_TRUE(s.output.part_refused);

  const FailureMessage f = decode_failure(encode_failure(7, "bad_alloc in merge"));
  EXPECT_EQ(f.task_id, 7u);
  EXPECT_EQ(f.why, "bad_alloc in merge");
  EXPECT_EQ(f.owner, -1);
  EXPECT_EQ(decode_text(encode_text("chudnovsky")), "chudnovsky");
}

// A conversion block's decimals travel 19 to a word: every length around a word's, leading and trailing
// zeros, nines, and a text that is not all digits (sent as it is), come back as they went.
TEST(Wire, DecimalsArePackedAndComeBackExactly) {
  std::mt19937_64 rng(5);
  std::vector<std::string> texts = {"",
                                    "0",
                                    "9",
                                    "0000000000000000000",
                                    "9999999999999999999",
                                    "00000000000000000000",
                                    "99999999999999999999999999999999999999",
                                    "14159x",
                                    "-5",
                                    std::string(1000, '0')};
  for (std::size_t n : {1u, 18u, 19u, 20u, 37u, 38u, 39u, 1000u, 100003u}) {
    std::string s(n, '0');
    for (char& c : s) c = static_cast<char>('0' + rng() % 10);
    texts.push_back(s);
  }
  for (const std::string& text : texts) {
    TaskOutput out;
    out.digits = text;
    EXPECT_EQ(decode_result(encode_result(1, 0.5, out, {})).output.digits, text) << text.size();
  }
  // 100,003 digits take 5,264 words: about 42 KB where the text would be 100 KB.
  TaskOutput big;
  big.digits = texts.back();
  TaskOutput empty;
  EXPECT_LT(encode_result(1, 0.5, big, {}).size() - encode_result(1, 0.5, empty, {}).size(), 42200u);
}

// A word of packed decimals that holds more digits than it says is refused, not read as other digits.
TEST(Wire, PackedDecimalsThatDoNotFitAreRefused) {
  TaskOutput out;
  out.digits = "12";  // one word: 12, two digits
  Bytes message = encode_result(1, 0.5, out, {});
  // The word follows the task id, the seconds, the result (range and no values), the packed flag and the
  // count.
  const std::size_t at = 8 + 8 + 8 + 24 + 1 + 8;
  std::uint64_t word = 0;
  std::memcpy(&word, message.data() + at, 8);
  ASSERT_EQ(word, 12u);
  word = 100;
  std::memcpy(message.data() + at, &word, 8);
  EXPECT_THROW(decode_result(message), WireError);
}

TEST(Wire, StoreRequestsAndAnswersRoundTrip) {
  const StoreRequest request{3, 1, 77, 8, 16, "/scratch/run", "pieces/c000002-3-8-16.h5"};
  const StoreRequest r = decode_store(encode_store(request));
  EXPECT_EQ(r.capture, 3u);
  EXPECT_EQ(r.key, 77u);
  EXPECT_EQ(r.first_range, 8u);
  EXPECT_EQ(r.end_range, 16u);
  EXPECT_EQ(r.dir, request.dir);
  EXPECT_EQ(r.file, request.file);
  EXPECT_EQ(r.owner, -1) << "the owner is the rank the request goes to";

  const StoreAnswer written{3, 77, true, StoredPiece{request.file, {100, 200}, 3, 123456, 0xdeadbeef}, ""};
  const StoreAnswer w = decode_stored(encode_stored(written));
  EXPECT_EQ(w.capture, 3u);
  EXPECT_EQ(w.key, 77u);
  ASSERT_TRUE(w.stored);
  EXPECT_EQ(w.stored->file, request.file);
  EXPECT_EQ(w.stored->range, (Range{100, 200}));
  EXPECT_EQ(w.stored->values, 3u);
  EXPECT_EQ(w.stored->bytes, 123456u);
  EXPECT_EQ(w.stored->crc32, 0xdeadbeefu);

  const StoreAnswer failed =
      decode_stored(encode_stored(StoreAnswer{3, 78, false, std::nullopt, "not held"}));
  EXPECT_FALSE(failed.held);
  EXPECT_FALSE(failed.stored);
  EXPECT_EQ(failed.error, "not held");
}

TEST(Wire, DamagedMessagesAreRefusedNotRead) {
  Task merge;
  merge.work = Merge{PieceRef::held_here(
                         std::make_shared<PartialResult>(partial(0, 10, {"123456789012345678901234567890"}))),
                     PieceRef::held_here(std::make_shared<PartialResult>(partial(10, 20, {"5"})))};
  const Bytes good = encode_task(merge);
  EXPECT_THROW(decode_task(Bytes(good.begin(), good.begin() + 4)), WireError);  // shorter than its header
  Bytes cut(good.begin(), good.begin() + 64);  // the length says more than arrived
  EXPECT_THROW(decode_task(cut), WireError);
  Bytes kind = good;
  kind[8 + 8] = std::byte{200};  // after the length and the id: the kind
  EXPECT_THROW(decode_task(kind), WireError);
  Bytes huge = good;
  for (std::size_t i = 0; i < 8; ++i) huge[i] = std::byte{0xff};  // an absurd length
  EXPECT_THROW(decode_task(huge), WireError);
}

Task evaluate(std::uint64_t first_range, std::uint64_t end_range) {
  Task t;
  t.first_range = first_range;
  t.end_range = end_range;
  return t;
}

TEST(FaultInjection, EmptyPlanIsInert) {
  FaultPlan plan = FaultPlan::parse("", 1);
  EXPECT_TRUE(plan.empty());
  EXPECT_NO_THROW(plan.before(evaluate(0, 100)));
}

TEST(FaultInjection, EntriesForOtherRanksAreDropped) {
  EXPECT_TRUE(FaultPlan::parse("fail:2:5", 1).empty());
  EXPECT_FALSE(FaultPlan::parse("fail:2:5", 2).empty());
  EXPECT_FALSE(FaultPlan::parse("fail:*:5", 3).empty());
  EXPECT_FALSE(FaultPlan::parse("hang:4:*;slow:1:#2:1:0.5", 1).empty());
  EXPECT_TRUE(FaultPlan::parse("corrupt:0:final", 0).corrupts_final_value());
  EXPECT_FALSE(FaultPlan::parse("corrupt:1:digits", 0).corrupts_final_value());
}

TEST(FaultInjection, StartIsRankZerosDeathBeforeItTellsTheJob) {
  FaultPlan plan = FaultPlan::parse("die:0:start", 0);
  EXPECT_TRUE(plan.dies_at_start());
  EXPECT_NO_THROW(plan.before(evaluate(0, 5)));  // never on a task
  EXPECT_TRUE(FaultPlan::parse("die:0:start", 1).empty());
  EXPECT_FALSE(FaultPlan::parse("die:1:5", 0).dies_at_start());
  EXPECT_THROW(FaultPlan::parse("die:1:start", 1), std::invalid_argument);
  EXPECT_THROW(FaultPlan::parse("fail:0:start", 0), std::invalid_argument);
}

TEST(FaultInjection, FailFiresOnTheChosenRangeTheChosenNumberOfTimes) {
  FaultPlan plan = FaultPlan::parse("fail:1:5:2", 1);
  EXPECT_NO_THROW(plan.before(evaluate(0, 5)));  // does not cover range 5
  EXPECT_THROW(plan.before(evaluate(4, 8)), std::exception);
  EXPECT_THROW(plan.before(evaluate(5, 6)), std::exception);
  EXPECT_NO_THROW(plan.before(evaluate(5, 6)));  // fired twice: spent
}

TEST(FaultInjection, HeldFiresOnceTheWorkerHoldsThatManyPieces) {
  FaultPlan plan = FaultPlan::parse("fail:1:held2", 1);
  plan.set_pieces_held(1);
  EXPECT_NO_THROW(plan.before(evaluate(0, 5)));
  plan.set_pieces_held(2);
  EXPECT_THROW(plan.before(evaluate(5, 6)), std::exception);
  EXPECT_NO_THROW(plan.before(evaluate(6, 7)));  // fired once: spent
}

TEST(FaultInjection, LoadFiresOnTheFirstPieceReadFromItsFile) {
  FaultPlan plan = FaultPlan::parse("fail:2:load", 2);
  EXPECT_NO_THROW(plan.before(evaluate(0, 5)));
  Task load = evaluate(8, 16);
  load.work = Load{"/out/pieces/p.h5", 100, 1, Range{10, 20}, 3, false};
  EXPECT_THROW(plan.before(load), std::exception);
  EXPECT_NO_THROW(plan.before(load));  // fired once: spent
}

// A kill is rank 0's: it names the worker to SIGKILL once that many of its pieces have copies, once.
TEST(FaultInjection, KillIsRankZerosOnceTheWorkersPiecesHaveCopies) {
  EXPECT_TRUE(FaultPlan::parse("kill:2:copied2", 2).empty()) << "the worker itself does nothing";
  FaultPlan plan = FaultPlan::parse("kill:2:copied2;fail:1:3", 0);
  std::uint64_t copied = 1;
  const auto of_rank = [&copied](int rank) { return rank == 2 ? copied : 0; };
  EXPECT_TRUE(plan.kills_due(4, of_rank).empty());
  copied = 2;
  EXPECT_EQ(plan.kills_due(4, of_rank), std::vector<int>{2});
  EXPECT_TRUE(plan.kills_due(4, of_rank).empty()) << "killed once";
  EXPECT_NO_THROW(plan.before(evaluate(0, 5))) << "a kill is no worker's fault";
  // RANK *: the first worker of the job's ranks that has that many, once.
  FaultPlan any = FaultPlan::parse("kill:*:copied2", 0);
  std::vector<std::uint64_t> by_rank{0, 1, 1, 1};
  const auto of_any = [&by_rank](int rank) { return by_rank.at(static_cast<std::size_t>(rank)); };
  EXPECT_TRUE(any.kills_due(4, of_any).empty());
  by_rank = {0, 1, 3, 2};
  EXPECT_EQ(any.kills_due(4, of_any), std::vector<int>{2});
  EXPECT_TRUE(any.kills_due(4, of_any).empty()) << "killed once";
  FaultPlan beyond = FaultPlan::parse("kill:*:copied2", 0);
  by_rank = {0, 1, 1, 1, 5};
  EXPECT_TRUE(beyond.kills_due(4, of_any).empty()) << "only the job's ranks";
  // The worker given the final steps, once, the given seconds after.
  FaultPlan final_steps = FaultPlan::parse("kill:*:finalsteps:1:0", 0);
  EXPECT_TRUE(final_steps.kills_due(4, of_rank).empty());
  final_steps.assigned(evaluate(0, 5), 3);
  EXPECT_TRUE(final_steps.kills_due(4, of_rank).empty()) << "not the final steps";
  Task steps;
  steps.work = FinalSteps{};
  final_steps.assigned(steps, 3);
  EXPECT_EQ(final_steps.kills_due(4, of_rank), std::vector<int>{3});
  final_steps.assigned(steps, 1);
  EXPECT_TRUE(final_steps.kills_due(4, of_rank).empty()) << "killed once";
  // The first worker another reads from for a spread product's phase 1 or 2: not the part's own worker,
  // nor one of phase 0 (it reads the factors).
  FaultPlan spread_fetch = FaultPlan::parse("kill:*:spreadfetch:1:0", 0);
  Spread part;
  part.phase = 0;
  PieceRef on_rank_2;
  on_rank_2.owner = 1;
  on_rank_2.key = 7;
  PieceRef on_rank_3 = on_rank_2;
  on_rank_3.owner = 2;
  part.inputs = {on_rank_2, on_rank_3};
  Task spread;
  spread.work = part;
  spread_fetch.assigned(spread, 3);
  EXPECT_TRUE(spread_fetch.kills_due(4, of_rank).empty()) << "phase 0";
  spread_fetch.assigned(steps, 3);
  EXPECT_TRUE(spread_fetch.kills_due(4, of_rank).empty()) << "the final steps";
  part.phase = 1;
  spread.work = part;
  FaultPlan final_fetch = FaultPlan::parse("kill:*:finalfetch:1:0", 0);
  final_fetch.assigned(spread, 2);
  EXPECT_TRUE(final_fetch.kills_due(4, of_rank).empty()) << "a merge's product";
  spread_fetch.assigned(spread, 2);
  EXPECT_EQ(spread_fetch.kills_due(4, of_rank), std::vector<int>{3});
  EXPECT_TRUE(spread_fetch.kills_due(4, of_rank).empty()) << "killed once";
  part.final_steps = true;
  spread.work = part;
  final_fetch.assigned(spread, 2);
  EXPECT_EQ(final_fetch.kills_due(4, of_rank), std::vector<int>{3});
  // The final steps' worker once it asks for a product.
  FaultPlan final_product = FaultPlan::parse("kill:*:finalproduct:1:0", 0);
  EXPECT_TRUE(final_product.kills_due(4, of_rank).empty());
  final_product.product_asked(2);
  EXPECT_EQ(final_product.kills_due(4, of_rank), std::vector<int>{2});
  // The final fraction's worker once a part's block goes to another worker (not for a whole-fraction block,
  // nor one given to the holder itself).
  FaultPlan parts_fetch = FaultPlan::parse("kill:*:partsfetch:1:0", 0);
  Task block;
  PieceRef fraction;
  fraction.owner = 4;  // rank 5
  fraction.key = 7;
  fraction.shape = {1000, 300, 300};
  block.work = Digits{fraction, 1000, 0, 90, std::nullopt, 0};
  parts_fetch.assigned(block, 2);
  EXPECT_TRUE(parts_fetch.kills_due(8, of_rank).empty());
  block.work = Digits{fraction, 300, 45, 45, PartEnclosure{1, std::nullopt}, 2};
  parts_fetch.assigned(block, 5);
  EXPECT_TRUE(parts_fetch.kills_due(8, of_rank).empty());
  parts_fetch.assigned(block, 3);
  EXPECT_EQ(parts_fetch.kills_due(8, of_rank), std::vector<int>{5});
}

// refuse:RANK:digits: a part's block answers that it cannot decide its digits; a whole-fraction block, or
// any other task, is left alone.
TEST(FaultInjection, RefuseFiresOnAPartsBlockOnly) {
  FaultPlan plan = FaultPlan::parse("refuse:2:digits", 2);
  Task whole;
  whole.work = Digits{PieceRef{}, 100, 0, 20, std::nullopt, 0};
  TaskOutput out;
  out.digits = "3.1415";
  out.residues = {1, 2};
  plan.before(whole);
  plan.corrupt(whole, out);
  EXPECT_FALSE(out.part_refused);
  EXPECT_EQ(out.digits, "3.1415");
  Task part = whole;
  part.as<Digits>().part = PartEnclosure{3, std::nullopt};
  plan.before(part);
  plan.corrupt(part, out);
  EXPECT_TRUE(out.part_refused);
  EXPECT_TRUE(out.digits.empty());
  EXPECT_TRUE(out.residues.empty());
}

TEST(FaultInjection, MalformedEntriesAreRefusedByName) {
  for (const char* bad : {"fail",
                          "fail:1",
                          "explode:1:2",
                          "fail:x:2",
                          "fail:1:2:3:4:5",
                          "hang:1:final",
                          "fail:1:#0",
                          "die:1:held0",
                          "die:1:heldx",
                          "slow:1:2:1:soon",
                          "kill:2:held1",
                          "die:2:copied1",
                          "kill:0:copied1",
                          "kill:2:copied0",
                          "kill:2:finalsteps",
                          "die:*:finalsteps",
                          "kill:1:spreadfetch",
                          "fail:*:spreadfetch",
                          "refuse:1:3",
                          "refuse:1:*",
                          "kill:1:partsfetch",
                          "die:*:partsfetch"}) {
    try {
      FaultPlan::parse(bad, 1);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace pi
