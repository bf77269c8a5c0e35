// RaftLog, Unstable, MemoryStorage, Inflights and Progress in isolation.

#include <gtest/gtest.h>

#include "core/raft/inflights.h"
#include "core/raft/memory_storage.h"
#include "core/raft/progress.h"
#include "core/raft/raft_log.h"

namespace cairn::raft {
namespace {

Entry ent(uint64_t index, uint64_t term, std::string data = "") {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

TEST(RaftLog, AppendTermAndUpToDate) {
  MemoryStorage s;
  RaftLog log(&s);
  EXPECT_EQ(log.lastIndex(), 0u);
  log.append({ent(1, 1), ent(2, 1), ent(3, 2)});
  EXPECT_EQ(log.lastIndex(), 3u);
  EXPECT_EQ(log.lastTerm(), 2u);
  EXPECT_EQ(log.term(2), 1u);
  EXPECT_FALSE(log.term(4).has_value());
  EXPECT_TRUE(log.isUpToDate(3, 2));
  EXPECT_TRUE(log.isUpToDate(1, 3));
  EXPECT_FALSE(log.isUpToDate(5, 1));
}

TEST(RaftLog, MaybeAppendTruncatesConflictingSuffixOnly) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({ent(1, 1), ent(2, 1), ent(3, 1)});
  // Mismatched previous entry: refused.
  EXPECT_FALSE(log.maybeAppend(3, 2, 0, {ent(4, 2)}).has_value());
  // Matching prefix, conflict at 3.
  auto last = log.maybeAppend(2, 1, 2, {ent(3, 2), ent(4, 2)});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 4u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_EQ(log.committed(), 2u);
  // A stale duplicate of already-present entries changes nothing.
  EXPECT_EQ(*log.maybeAppend(1, 1, 2, {ent(2, 1)}), 2u);
  EXPECT_EQ(log.lastIndex(), 4u);
}

TEST(RaftLog, CommitOnlyEntriesOfTheGivenTerm) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({ent(1, 1), ent(2, 2)});
  EXPECT_FALSE(log.maybeCommit(1, 2));  // entry 1 is of term 1 (thesis §3.6.2)
  EXPECT_TRUE(log.maybeCommit(2, 2));
  EXPECT_EQ(log.committed(), 2u);
}

TEST(RaftLog, FindConflictByTerm) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({ent(1, 1), ent(2, 1), ent(3, 3), ent(4, 3), ent(5, 3)});
  EXPECT_EQ(log.findConflictByTerm(5, 2), 2u);
  EXPECT_EQ(log.findConflictByTerm(5, 3), 5u);
  EXPECT_EQ(log.findConflictByTerm(9, 0), 0u);
}

TEST(RaftLog, StableToMovesEntriesOutOfUnstable) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({ent(1, 1), ent(2, 1)});
  s.append({ent(1, 1), ent(2, 1)});
  log.stableTo(2, 1);
  EXPECT_TRUE(log.unstable().entries().empty());
  EXPECT_EQ(log.lastIndex(), 2u);
  // A stale report (the entry was replaced meanwhile) is ignored.
  log.append({ent(3, 2)});
  log.stableTo(3, 1);
  EXPECT_EQ(log.unstable().entries().size(), 1u);
}

TEST(MemoryStorage, SnapshotAndCompact) {
  MemoryStorage s;
  s.append({ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)});
  ASSERT_TRUE(s.createSnapshot(3, ConfState{}, "img").isOk());
  ASSERT_TRUE(s.compact(3).isOk());
  EXPECT_EQ(s.firstIndex(), 4u);
  EXPECT_EQ(s.term(3), 2u);
  EXPECT_FALSE(s.term(2).has_value());
  EXPECT_EQ(s.entries(4, 5, 0).size(), 1u);
  EXPECT_FALSE(s.createSnapshot(2, ConfState{}, "old").isOk());
}

TEST(Inflights, WindowByCountAndBytes) {
  Inflights in(3, 100);
  in.add(1, 10);
  in.add(2, 10);
  EXPECT_FALSE(in.full());
  in.add(3, 10);
  EXPECT_TRUE(in.full());
  in.freeLE(2);
  EXPECT_EQ(in.count(), 1u);
  in.add(4, 95);
  EXPECT_TRUE(in.full());  // bytes
  in.freeFirstOne();
  EXPECT_EQ(in.count(), 1u);
}

TEST(Progress, ProbeDecrementUsesHint) {
  Progress p(11, 4, 1000, false);
  p.sentProbe();
  EXPECT_TRUE(p.isPaused());
  EXPECT_FALSE(p.maybeDecrTo(5, 3));  // not the outstanding probe
  EXPECT_TRUE(p.maybeDecrTo(10, 3));
  EXPECT_EQ(p.next, 4u);
  EXPECT_FALSE(p.isPaused());
  EXPECT_TRUE(p.maybeUpdate(6));
  p.becomeReplicate();
  EXPECT_EQ(p.next, 7u);
  EXPECT_FALSE(p.maybeDecrTo(6, 0));  // stale: at or below match
}

}  // namespace
}  // namespace cairn::raft
