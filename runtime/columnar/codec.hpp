#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/columnar/row_batch.hpp"

/// The encoding of a row batch that crosses nodes ("SLC1", version 1).
///
///     "SLC1" | u16 version = 1 | u16 flags | u32 rows | u32 columns
///     [flags bit 1: i32 rowtime]
///     per column: u8 type_id | u8 precision | u8 scale | u8 nullable
///                 | u16 name_len | name bytes
///                 | u32 validity_words (0 = all valid) | u64 validity[]
///                 | fixed width: rows * width bytes
///                 | string: u32 offsets[rows + 1] | u32 nbytes | bytes
///     [flags bit 0: u8 kinds[rows]]
///     u32 CRC32C of every byte before it
///
/// Every integer is little-endian. Only the selected rows are written (in
/// selection order); the decoded batch selects all its rows.
namespace sluice::columnar {

/// The encoding's magic and version.
inline constexpr char codec_magic[4] = {'S', 'L', 'C', '1'};
inline constexpr uint16_t codec_version = 1;

/// Flags of the encoding's header.
inline constexpr uint16_t codec_has_kinds = 1;   ///< a kind byte per row
inline constexpr uint16_t codec_has_rowtime = 2; ///< the schema's rowtime

/// Appends the encoding of `b`'s selected rows to `out` (one resize of
/// `out`). Field names longer than 65,535 bytes are cut.
void encode(const row_batch& b, std::vector<char>& out);

/// The number of bytes `encode` appends.
size_t encoded_size(const row_batch& b) noexcept;

/// Decodes one encoding (exactly `in`, nothing after the CRC): checks the
/// magic, version, flags, every size and type byte, the CRC and the
/// result's `well_formed`.
caf::expected<row_batch> decode(std::span<const char> in);

/// Decodes like `decode` into `out`, reusing the capacity of its columns
/// and its schema_ptr when the encoded schema equals it, so a receiver
/// that keeps its batch allocates nothing per message once grown. On error
/// `out` is left empty (its schema kept).
caf::error decode_into(std::span<const char> in, row_batch& out);

} // namespace sluice::columnar
