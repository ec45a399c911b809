#!/usr/bin/env python3
"""Writes seed inputs for the GATT fuzz targets: the vectors of
shared/data/gatt-vectors/gatt_vectors.json (when present) plus frames built here from
reference/ble-gatt.md, one directory per target. scripts/fuzz.sh does not use this: the seeds
were merged into tests/fuzz/corpus/ once (see README.md), which is what the runs start from.

usage: make_seeds.py OUT_DIR [VECTORS_JSON]
"""

import itertools
import json
import os
import struct
import sys


def crc16_mcrf4xx(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def sfloat(mantissa: int, exponent: int) -> bytes:
    return struct.pack("<H", ((exponent & 0xF) << 12) | (mantissa & 0xFFF))


SPECIALS = [b"\xff\x07", b"\x00\x08", b"\xfe\x07", b"\x02\x08", b"\x01\x08"]


def hr_frames():
    for flags in range(0x20):
        body = bytes([flags])
        body += struct.pack("<H", 300) if flags & 1 else bytes([72])
        if flags & 0x08:
            body += struct.pack("<H", 1234)
        if flags & 0x10:
            body += struct.pack("<HH", 820, 790)
        yield body
    yield bytes([0x10, 60]) + struct.pack("<H", 1024) * 9  # many RR intervals
    yield bytes([0x16, 60, 0x00])  # RR interval cut after one byte
    yield bytes([0x01, 60])  # u16 heart rate cut
    yield bytes([0x00, 60, 0x00])  # trailing byte


def plx_continuous_frames():
    for flags in range(0x20):
        body = bytes([flags]) + sfloat(97, 0) + sfloat(72, 0)
        if flags & 0x01:
            body += sfloat(965, -1) + sfloat(73, 0)
        if flags & 0x02:
            body += sfloat(98, 0) + sfloat(70, 0)
        if flags & 0x04:
            body += struct.pack("<H", 0x0120)
        if flags & 0x08:
            body += struct.pack("<I", 0x000020)[:3]
        if flags & 0x10:
            body += sfloat(87, -1)
        yield body
    for i, s in enumerate(SPECIALS):
        yield bytes([0x00]) + s + sfloat(72, 0)
        yield bytes([0x0C]) + sfloat(97, 0) + s + struct.pack("<H", 1 << (5 + 2 * i)) + (
            struct.pack("<I", 1 << (3 * i + 1))[:3])
    for bit in range(16):
        yield bytes([0x08]) + sfloat(97, 0) + sfloat(72, 0) + struct.pack("<I", 1 << bit)[:3]
    yield bytes([0x1F]) + sfloat(97, 0)  # truncated


def plx_spot_check_frames():
    stamp = struct.pack("<HBBBBB", 2026, 11, 28, 8, 57, 32)
    for flags in range(0x20):
        body = bytes([flags]) + sfloat(96, 0) + sfloat(64, 0)
        if flags & 0x01:
            body += stamp
        if flags & 0x02:
            body += struct.pack("<H", 0x4000)
        if flags & 0x04:
            body += struct.pack("<I", 0x002000)[:3]
        if flags & 0x08:
            body += sfloat(31, -1)
        yield body
    yield bytes([0x01]) + sfloat(96, 0) + sfloat(64, 0) + struct.pack("<HBBBBB", 0, 0, 0, 0, 0, 0)
    yield bytes([0x01]) + sfloat(96, 0) + sfloat(64, 0) + struct.pack("<HBBBBB", 2025, 2, 30, 25,
                                                                       61, 61)
    yield bytes([0x01]) + sfloat(96, 0) + sfloat(64, 0) + stamp[:4]  # truncated timestamp


def cgm_record(flags, glucose, offset, status=0, cal=0, warn=0, trend=None, quality=None,
               crc=False, bad_crc=False):
    body = bytes([flags]) + glucose + struct.pack("<H", offset)
    if flags & 0x80:
        body += bytes([status])
    if flags & 0x40:
        body += bytes([cal])
    if flags & 0x20:
        body += bytes([warn])
    if flags & 0x01:
        body += trend if trend is not None else sfloat(-15, -1)
    if flags & 0x02:
        body += quality if quality is not None else sfloat(95, 0)
    size = len(body) + 1 + (2 if crc else 0)
    rec = bytes([size]) + body
    if crc:
        c = crc16_mcrf4xx(rec)
        rec += struct.pack("<H", c ^ (1 if bad_crc else 0))
    return rec


def cgm_frames():
    """(mode byte, notification) pairs: mode % 3 = detect / required / absent, bit 2 = start."""
    g = sfloat(120, 0)
    for flags in [0x00, 0x01, 0x02, 0x03, 0x20, 0x40, 0x80, 0xE0, 0xE3, 0x1C]:
        yield 0, cgm_record(flags, g, 5, 0x02, 0x14, 0x05)
        yield 1 | 4, cgm_record(flags, g, 5, 0x02, 0x14, 0x05, crc=True)
        yield 2, cgm_record(flags, g, 5, 0x02, 0x14, 0x05)
    for bit in range(24):
        a = 1 << bit
        yield 4, cgm_record(0xE0, g, 10, a & 0xFF, (a >> 8) & 0xFF, (a >> 16) & 0xFF)
    for s in SPECIALS:
        yield 0, cgm_record(0x03, s, 15, trend=s, quality=s)
    yield 0, cgm_record(0x00, g, 5) + cgm_record(0x00, g, 6)
    yield 4, b"".join(cgm_record(0x03, sfloat(100 + i, 0), i * 5, crc=True) for i in range(3))
    yield 0, cgm_record(0x00, g, 5, crc=True, bad_crc=True) + cgm_record(0x00, g, 10, crc=True)
    yield 0, cgm_record(0x00, g, 5) * 85
    yield 0, cgm_record(0x00, g, 5) * 86  # too many records
    yield 0, bytes([0x05, 0x00, 0x0C, 0x10, 0x00])  # record too short
    yield 0, bytes([0x0A, 0x00, 0x0C, 0x10, 0x00, 0x00])  # size past the end
    yield 1, cgm_record(0x00, g, 5)  # required, none
    yield 2, cgm_record(0x00, g, 5, crc=True)  # absent, yet one


def session_start_frames():
    base = struct.pack("<HBBBBB", 2026, 11, 28, 0, 0, 0)
    for tz, dst in [(0, 0), (4, 4), (-20, 0), (-128, 255), (56, 8)]:
        body = base + struct.pack("<bB", tz, dst)
        yield body
        yield body + struct.pack("<H", crc16_mcrf4xx(body))
    yield struct.pack("<HBBBBB", 0, 0, 0, 0, 0, 0) + b"\x00\x00"
    yield struct.pack("<HBBBBB", 65535, 13, 32, 24, 60, 60) + b"\x7f\xfe"
    yield base + b"\x00\x00\x12\x34"  # wrong CRC
    yield base[:5]  # truncated
    yield base + b"\x00"  # no DST offset
    yield base + b"\x00\x00\x00"  # one stray byte


def hex_texts():
    yield from [b"0655", b"06 55", b"06:55", b"06-55", b"0E4B8000", b"1e5532002100", b"0", b"0g",
                b"", b"06\t55", b"2a37", b"2A37", b"0x2a5f", b"0X2A5E", b"2aa7", b"2aaa",
                b"00002a37-0000-1000-8000-00805f9b34fb", b"00002AAA-0000-1000-8000-00805F9B34FB",
                b"00002a38-0000-1000-8000-00805f9b34fb", b"hr", b"HR", b"plx-spot", b"plx-cont",
                b"cgm", b"cgm-session-start", b"heart_rate_measurement", b"plx_continuous",
                b"plx_spot_check", b"cgm_measurement", b"cgm_session_start_time",
                b"C0:26:DA:01:02:03", b"c0-26-da-01-02-03", b"c026da010203", b"C0:26:DA:01:02",
                b"0fe3d2e405000214ff02f0e5f38e3f", b"ea070b1c0000000400", b"ff" * 70]


def main():
    out = sys.argv[1]
    vectors = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "../../../shared/data/gatt-vectors/gatt_vectors.json")
    seeds = {
        "fuzz_hr": list(hr_frames()),
        "fuzz_plx_continuous": list(plx_continuous_frames()),
        "fuzz_plx_spot_check": list(plx_spot_check_frames()),
        "fuzz_cgm": [bytes([mode]) + frame for mode, frame in cgm_frames()],
        "fuzz_cgm_session_start": list(session_start_frames()),
        "fuzz_hex": list(hex_texts()),
    }
    target_of = {"2A37": "fuzz_hr", "2A5F": "fuzz_plx_continuous", "2A5E": "fuzz_plx_spot_check",
                 "2AA7": "fuzz_cgm", "2AAA": "fuzz_cgm_session_start"}
    if os.path.exists(vectors):
        with open(vectors) as f:
            for v in json.load(f)["vectors"]:
                payload = bytes.fromhex(v["payload_hex"])
                seeds["fuzz_hex"].append(v["payload_hex"].encode())
                target = target_of.get(v["characteristic"])
                if target == "fuzz_cgm":
                    for mode in (0, 1, 2):
                        seeds[target].append(bytes([mode]) + payload)
                elif target:
                    seeds[target].append(payload)
    for target, frames in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for i, frame in enumerate(dict.fromkeys(frames)):
            with open(os.path.join(d, f"seed-{i:03d}"), "wb") as f:
                f.write(frame)
        print(f"{target}: {len(frames)} seeds")


if __name__ == "__main__":
    main()
