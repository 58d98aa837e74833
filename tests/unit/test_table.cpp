#include <gtest/gtest.h>

#include "pararun/table.hpp"

using namespace pararun;

TEST(Table, AlignmentFollowsTheColumnNotTheCell) {
  Table t({"kernel", "description", "n"});
  t.add({"matmul", "C = A * B", "1024"});
  t.add({"stencil", "2-D blocks, halo exchange", "8"});
  t.add({"ep", "-", "-"});
  // The description column is text although one cell starts with a digit: left-aligned.
  // The n column is numbers: right-aligned, its header and placeholders too.
  EXPECT_EQ(t.str(),
            "kernel   description                   n\n"
            "----------------------------------------\n"
            "matmul   C = A * B                  1024\n"
            "stencil  2-D blocks, halo exchange     8\n"
            "ep       -                             -\n");
}

TEST(Table, NumbersWithUnitsAndSignsAreNumbers) {
  Table t({"x", "speedup"});
  t.add({"-0.5", "1.93x"});
  t.add({"12", "0.98x"});
  EXPECT_EQ(t.str(),
            "   x  speedup\n"
            "-------------\n"
            "-0.5    1.93x\n"
            "  12    0.98x\n");
}

TEST(Table, ProseInTheLastColumnIsUnderlinedAsFarAsItsHeader) {
  Table t({"kernel", "description"});
  t.add({"matmul", "a long description that would make a rule wider than any terminal"});
  EXPECT_EQ(t.str(),
            "kernel  description\n"
            "-------------------\n"
            "matmul  a long description that would make a rule wider than any terminal\n");
}

TEST(Table, AControlCharacterIsEscapedBeforeTheColumnsAreLaidOut) {
  // A kernel name or label with an ESC or a newline: escaped, and its row stays in line.
  // "µs" is two bytes and one column.
  Table t({"label", "time"});
  t.add({"a\x1b[2Jb", "3 µs"});
  t.add({"c\nd", "12 µs"});
  EXPECT_EQ(t.str(),
            "label       time\n"
            "----------------\n"
            "a\\x1b[2Jb   3 µs\n"
            "c\\x0ad     12 µs\n");
}
