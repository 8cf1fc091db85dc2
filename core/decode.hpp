// The byte decoder: the fuzzers' producer of Ops. Every byte string decodes
// to a valid op sequence (decoding is total), deterministically and without
// looking at any memblock, so a crashing input means the same ops on every
// tree and every run. docs/byte-format.md is the reference.
//
// The format is versioned: a change that makes an existing input decode to
// other ops needs a new `byte_format_version`, because stored findings and
// corpora are kept as bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/op.hpp"

namespace mbfuzz {

inline constexpr int byte_format_version = 1;

// Decoding stops after this many ops, so one input's run stays short.
inline constexpr std::size_t max_decoded_ops = 1024;

// Which calls the bytes stand for: memblock's (the format above, version
// byte_format_version) or bootmem's (its own table, no bursts; see
// docs/byte-format.md). The fuzz target of each system decodes its own.
enum class Vocabulary { memblock, bootmem };
std::string_view vocabulary_name(Vocabulary v);

// bootmem when any op is one of bootmem's calls.
Vocabulary vocabulary_of(std::span<const Op> ops);

std::vector<Op> decode_ops(std::span<const std::uint8_t> bytes, Vocabulary vocabulary = Vocabulary::memblock);

// Bytes that decode_ops (in vocabulary_of(ops)) turns back into exactly `ops`
// (the longest prefix of at most max_decoded_ops of them): how text traces
// become fuzzing seeds. Throws std::invalid_argument when the ops mix the
// two vocabularies.
std::vector<std::uint8_t> encode_ops(std::span<const Op> ops);

}  // namespace mbfuzz
