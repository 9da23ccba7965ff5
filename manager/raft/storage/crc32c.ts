// CRC32C (Castagnoli), the checksum of every WAL record and snapshot file.
// Castagnoli rather than IEEE because it detects more error patterns at the
// record sizes a WAL writes, and it is what etcd, ext4 and iSCSI use, so
// external tools can verify our files.
//
// Slicing-by-8: eight 256-entry tables let the loop fold eight input bytes per
// iteration instead of one, which is what keeps checksumming off the profile
// of the append path.

const POLYNOMIAL = 0x82f63b78; // reversed representation of 0x1EDC6F41

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    }
    tables[b] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = tables[(k - 1) * 256 + b]!;
      tables[k * 256 + b] = ((prev >>> 8) ^ tables[prev & 0xff]!) >>> 0;
    }
  }
  return tables;
}

/**
 * CRC32C of `data[start, end)`, continuing from `seed` (the CRC of the bytes
 * before it), so that crc32cRange(b, 0, b.length, crc32c(a)) === crc32c(a ++ b).
 * Takes a range rather than a subarray so callers checksumming many records of
 * one buffer do not allocate a view per record.
 */
export function crc32cRange(data: Uint8Array, start: number, end: number, seed = 0): number {
  const t = TABLES;
  let crc = ~seed >>> 0;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    const lo = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + (hi & 0xff)]! ^
      t[2 * 256 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
    i += 8;
  }
  while (i < end) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

/** CRC32C of `data`, continuing from `seed` (see crc32cRange). */
export function crc32c(data: Uint8Array, seed = 0): number {
  return crc32cRange(data, 0, data.length, seed);
}
