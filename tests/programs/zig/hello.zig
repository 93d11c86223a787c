//! A Zig guest for `cli/tests/other_languages.rs`: prints its arguments and the size of its
//! environment, writes a file in the directory preopened as `/sandbox`, reads it back, and
//! exits with its first argument as the exit code (0 without one).

const std = @import("std");

pub fn main(init: std.process.Init) !void {
    const io = init.io;
    var buffer: [4096]u8 = undefined;
    var stdout_writer = std.Io.File.stdout().writerStreaming(io, &buffer);
    const stdout = &stdout_writer.interface;

    const args = try init.minimal.args.toSlice(init.arena.allocator());
    try stdout.print("zig: args={d} environ={d}\n", .{ args.len - 1, init.environ_map.count() });
    for (args[1..], 1..) |arg, index| {
        try stdout.print("arg[{d}]=\"{s}\"\n", .{ index, arg });
    }

    const sandbox = switch (init.preopens.get("/sandbox") orelse {
        try stdout.print("no preopen named /sandbox\n", .{});
        try stdout.flush();
        std.process.exit(2);
    }) {
        .dir => |dir| dir,
        .file => unreachable,
    };

    // A line per 1000th of the file, so that it is written and read in several pieces.
    var contents: std.ArrayList(u8) = .empty;
    const gpa = init.gpa;
    defer contents.deinit(gpa);
    for (0..2000) |line| {
        try contents.print(gpa, "line {d}: {x}\n", .{ line, line *% 2654435761 });
    }
    try sandbox.writeFile(io, .{ .sub_path = "zig.txt", .data = contents.items });
    const read_back = try sandbox.readFileAlloc(io, "zig.txt", gpa, .unlimited);
    defer gpa.free(read_back);
    var hash: u64 = 0xcbf29ce484222325;
    for (read_back) |byte| {
        hash = (hash ^ byte) *% 0x100000001b3;
    }
    try stdout.print("wrote {d} bytes, read back {d}, same: {}, fnv1a={x}\n", .{
        contents.items.len,
        read_back.len,
        std.mem.eql(u8, contents.items, read_back),
        hash,
    });
    if (sandbox.openFile(io, "missing.txt", .{})) |file| {
        file.close(io);
        try stdout.print("missing.txt: opened\n", .{});
    } else |err| {
        try stdout.print("missing.txt: {s}\n", .{@errorName(err)});
    }

    const code: u8 = if (args.len > 1) std.fmt.parseInt(u8, args[1], 10) catch 0 else 0;
    try stdout.print("exiting with {d}\n", .{code});
    try stdout.flush();
    std.process.exit(code);
}
