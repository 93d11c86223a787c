// C++ exceptions end to end: built natively (g++ and libstdc++) and for wasm32-wasi with
// `-fwasm-exceptions` (zig's clang and libc++, plus the EH-enabled libc++abi pieces
// cli/tests/other_languages.rs builds), it must print the same transcript. Each section
// prints what it throws, which handler catches it and which destructors run, in order.
//
// With the argument `uncaught` it throws an exception nothing catches: natively
// std::terminate aborts (exit 134); under kiln the Wasm exception reaches the host (exit
// 134, naming the tag `__cpp_exception`).

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int live_guards = 0;

// Prints its construction and destruction, so the transcript shows what unwinding ran.
struct Guard {
    const char *name;
    explicit Guard(const char *name) : name(name) {
        ++live_guards;
        std::printf("  +%s\n", name);
    }
    ~Guard() {
        --live_guards;
        std::printf("  -%s\n", name);
    }
    Guard(const Guard &) = delete;
    Guard &operator=(const Guard &) = delete;
};

// ---- a hierarchy of exception types --------------------------------------------------

struct ParseError : std::runtime_error {
    int line;
    ParseError(const std::string &what, int line) : std::runtime_error(what), line(line) {}
};

struct FatalParseError : ParseError {
    FatalParseError(const std::string &what, int line) : ParseError(what, line) {}
};

struct Base {
    int code;
    explicit Base(int code) : code(code) {}
    virtual ~Base() = default;
    virtual const char *kind() const { return "Base"; }
};

struct Middle : Base {
    explicit Middle(int code) : Base(code) {}
    const char *kind() const override { return "Middle"; }
};

struct Leaf : Middle {
    explicit Leaf(int code) : Middle(code) {}
    const char *kind() const override { return "Leaf"; }
};

struct Plain {
    int a, b;
};

// ---- 1. through several frames ------------------------------------------------------

void parse_level(int depth, int fail_at) {
    char name[32];
    std::snprintf(name, sizeof name, "frame%d", depth);
    Guard guard(name);
    if (depth == fail_at) {
        std::printf("  throwing ParseError at depth %d\n", depth);
        throw ParseError("unexpected token at depth " + std::to_string(depth), depth * 10);
    }
    parse_level(depth + 1, fail_at);
    std::printf("  not reached when depth %d < %d\n", depth, fail_at);
}

void several_frames() {
    std::printf("several frames\n");
    try {
        parse_level(1, 6);
    } catch (const std::runtime_error &error) {
        const ParseError *parse = dynamic_cast<const ParseError *>(&error);
        std::printf("  caught runtime_error: %s (line %d), guards alive %d\n", error.what(),
                    parse ? parse->line : -1, live_guards);
    }
}

// ---- 2. catch by type ---------------------------------------------------------------

[[noreturn]] void throw_kind(int kind) {
    Guard guard("thrower");
    switch (kind) {
    case 0: throw 42;
    case 1: throw "a C string";
    case 2: throw Plain{3, 4};
    case 3: throw Leaf(7);
    case 4: throw Middle(8);
    case 5: throw Base(9);
    case 6: throw FatalParseError("fatal", 66);
    case 7: throw std::out_of_range("index 12 out of range");
    case 8: throw std::logic_error("bad logic");
    case 9: throw std::string("a std::string");
    case 10: throw 2.5;
    default: throw static_cast<unsigned char>(kind);
    }
}

void catch_by_type() {
    std::printf("catch by type\n");
    for (int kind = 0; kind <= 11; ++kind) {
        try {
            throw_kind(kind);
        } catch (int value) {
            std::printf("  %d: int %d\n", kind, value);
        } catch (const char *text) {
            std::printf("  %d: const char* \"%s\"\n", kind, text);
        } catch (const Plain &plain) {
            std::printf("  %d: Plain {%d, %d}\n", kind, plain.a, plain.b);
        } catch (const Middle &middle) {
            std::printf("  %d: Middle& holding %s %d\n", kind, middle.kind(), middle.code);
        } catch (const Base &base) {
            std::printf("  %d: Base& holding %s %d\n", kind, base.kind(), base.code);
        } catch (const ParseError &error) {
            std::printf("  %d: ParseError& \"%s\" line %d, fatal %d\n", kind, error.what(),
                        error.line, dynamic_cast<const FatalParseError *>(&error) != nullptr);
        } catch (const std::logic_error &error) {
            const bool range = dynamic_cast<const std::out_of_range *>(&error) != nullptr;
            std::printf("  %d: logic_error& \"%s\", out_of_range %d\n", kind, error.what(), range);
        } catch (const std::string &text) {
            std::printf("  %d: std::string \"%s\" (%zu chars)\n", kind, text.c_str(),
                        text.size());
        } catch (double value) {
            std::printf("  %d: double %.2f\n", kind, value);
        } catch (...) {
            std::printf("  %d: catch (...)\n", kind);
        }
    }
    // A standard library function that throws from a header.
    std::vector<int> values{1, 2, 3};
    try {
        std::printf("  at(2) = %d\n", values.at(2));
        std::printf("  at(5) = %d\n", values.at(5));
    } catch (const std::out_of_range &) {
        std::printf("  vector::at threw out_of_range\n");
    }
}

// ---- 3. rethrow with `throw;` ------------------------------------------------------

void annotate_and_rethrow(int depth) {
    Guard guard(depth == 0 ? "rethrow0" : depth == 1 ? "rethrow1" : "rethrow2");
    try {
        if (depth == 2) {
            throw Leaf(100);
        }
        annotate_and_rethrow(depth + 1);
    } catch (Base &base) {
        base.code += depth + 1;
        std::printf("  depth %d saw %s %d, rethrowing\n", depth, base.kind(), base.code);
        throw;
    }
}

void rethrow() {
    std::printf("rethrow\n");
    try {
        annotate_and_rethrow(0);
    } catch (const Leaf &leaf) {
        // The same object travelled: every level's change is in it.
        std::printf("  caught Leaf %d\n", leaf.code);
    }
    // Rethrowing a caught std::exception keeps its dynamic type.
    try {
        try {
            throw FatalParseError("deep", 5);
        } catch (const std::exception &) {
            std::printf("  caught as std::exception, rethrowing\n");
            throw;
        }
    } catch (const FatalParseError &error) {
        std::printf("  caught again as FatalParseError \"%s\"\n", error.what());
    }
}

// ---- 4. exceptions while unwinding --------------------------------------------------

// Its destructor throws and catches an exception of its own while another unwinds.
struct Cleaner {
    const char *name;
    explicit Cleaner(const char *name) : name(name) {}
    ~Cleaner() {
        std::printf("  ~Cleaner(%s): uncaught_exceptions %d\n", name,
                    std::uncaught_exceptions());
        try {
            Guard inner("cleanup-guard");
            throw std::runtime_error(std::string("cleanup of ") + name + " failed");
        } catch (const std::exception &error) {
            std::printf("  ~Cleaner(%s) handled \"%s\", uncaught_exceptions %d\n", name,
                        error.what(), std::uncaught_exceptions());
        }
    }
};

void unwinding_step(int step) {
    Cleaner cleaner(step == 1 ? "outer" : "inner");
    Guard guard(step == 1 ? "step1" : "step2");
    if (step == 2) {
        throw std::runtime_error("failure in step 2");
    }
    unwinding_step(step + 1);
}

void during_unwinding() {
    std::printf("during unwinding\n");
    try {
        unwinding_step(1);
    } catch (const std::runtime_error &error) {
        std::printf("  caught \"%s\", uncaught_exceptions %d\n", error.what(),
                    std::uncaught_exceptions());
    }
}

// ---- 5. constructors: function-try-block, members, arrays ----------------------------

struct Part {
    int id;
    explicit Part(int id) : id(id) {
        if (id == 3) {
            std::printf("  Part(%d) throws\n", id);
            throw std::invalid_argument("part 3 is invalid");
        }
        std::printf("  Part(%d)\n", id);
    }
    ~Part() { std::printf("  ~Part(%d)\n", id); }
};

struct Machine {
    Part first;
    Part second;
    Part third;
    Machine() try : first(1), second(2), third(3) {
        std::printf("  Machine body, not reached\n");
    } catch (const std::invalid_argument &error) {
        // The members built so far are already destroyed; the exception goes on.
        std::printf("  Machine's function-try-block caught \"%s\"\n", error.what());
    }
};

int checked_sum(int limit) try {
    Guard guard("checked_sum");
    int sum = 0;
    for (int i = 0; i < limit; ++i) {
        if (i == 4) {
            throw std::overflow_error("sum passed 4 terms");
        }
        sum += i;
    }
    return sum;
} catch (const std::overflow_error &error) {
    std::printf("  checked_sum's function-try-block: \"%s\"\n", error.what());
    return -1;
}

void constructors() {
    std::printf("constructors\n");
    try {
        Machine machine;
    } catch (const std::exception &error) {
        std::printf("  rethrown from the constructor: \"%s\"\n", error.what());
    }
    try {
        Part parts[] = {Part(1), Part(2), Part(3), Part(4)};
        std::printf("  array built, not reached %d\n", parts[0].id);
    } catch (const std::invalid_argument &) {
        std::printf("  array construction failed\n");
    }
    std::printf("  checked_sum(3) = %d\n", checked_sum(3));
    std::printf("  checked_sum(9) = %d\n", checked_sum(9));
}

// ---- 6. nested handlers, exception_ptr, nested exceptions ---------------------------

void nested() {
    std::printf("nested\n");
    try {
        try {
            throw Middle(1);
        } catch (const Base &first) {
            std::printf("  handling %s %d, throwing another\n", first.kind(), first.code);
            try {
                throw Leaf(2);
            } catch (const Middle &second) {
                std::printf("  inner handler: %s %d (first still %d)\n", second.kind(),
                            second.code, first.code);
            }
            throw std::length_error("from a handler");
        }
    } catch (const std::length_error &error) {
        std::printf("  outer caught \"%s\"\n", error.what());
    }

    std::exception_ptr saved;
    try {
        throw ParseError("saved for later", 77);
    } catch (...) {
        saved = std::current_exception();
    }
    std::printf("  saved an exception_ptr: %d\n", saved != nullptr);
    try {
        std::rethrow_exception(saved);
    } catch (const ParseError &error) {
        std::printf("  rethrown exception_ptr: \"%s\" line %d\n", error.what(), error.line);
    }

    try {
        try {
            throw std::runtime_error("disk full");
        } catch (...) {
            std::throw_with_nested(std::runtime_error("saving failed"));
        }
    } catch (const std::exception &outer) {
        std::printf("  nested: \"%s\"\n", outer.what());
        try {
            std::rethrow_if_nested(outer);
        } catch (const std::exception &inner) {
            std::printf("  nested inside: \"%s\"\n", inner.what());
        }
    }
}

// ---- 7. through function pointers and virtual calls --------------------------------

struct Visitor {
    virtual ~Visitor() = default;
    virtual int visit(int value) = 0;
};

struct Limit : Visitor {
    int limit;
    explicit Limit(int limit) : limit(limit) {}
    int visit(int value) override {
        if (value > limit) {
            throw Base(value);
        }
        return value * 2;
    }
};

int apply(Visitor &visitor, int (*combine)(int, int), int count) {
    Guard guard("apply");
    int total = 0;
    for (int i = 0; i < count; ++i) {
        total = combine(total, visitor.visit(i));
    }
    return total;
}

int add(int a, int b) { return a + b; }

int checked_add(int a, int b) {
    if (a + b > 50) {
        throw std::overflow_error("checked_add over 50");
    }
    return a + b;
}

void indirect() {
    std::printf("indirect calls\n");
    Limit limit(20);
    int (*combiners[])(int, int) = {add, checked_add};
    for (int count : {4, 8, 30}) {
        for (auto combine : combiners) {
            try {
                std::printf("  total %d\n", apply(limit, combine, count));
            } catch (const Base &base) {
                std::printf("  visitor refused %d\n", base.code);
            } catch (const std::exception &error) {
                std::printf("  combine failed: \"%s\"\n", error.what());
            }
        }
    }
}

// ---- 8. many throws ----------------------------------------------------------------

struct Counter {
    static int destroyed;
    ~Counter() { ++destroyed; }
};
int Counter::destroyed = 0;

int deep_throw(int depth, int value) {
    Counter counter;
    if (depth == 0) {
        throw std::runtime_error(std::to_string(value));
    }
    return deep_throw(depth - 1, value) + 1;
}

void many() {
    std::printf("many throws\n");
    long long sum = 0;
    int caught = 0;
    for (int i = 0; i < 20000; ++i) {
        try {
            deep_throw(i % 10, i);
        } catch (const std::runtime_error &error) {
            sum += std::strtol(error.what(), nullptr, 10);
            ++caught;
        }
    }
    std::printf("  caught %d, sum %lld, destructors %d\n", caught, sum, Counter::destroyed);
}

} // namespace

int main(int argc, char **argv) {
    if (argc > 1 && std::strcmp(argv[1], "uncaught") == 0) {
        std::printf("throwing an exception nothing catches\n");
        std::fflush(stdout);
        throw ParseError("nobody catches this", 1);
    }
    several_frames();
    catch_by_type();
    rethrow();
    during_unwinding();
    constructors();
    nested();
    indirect();
    many();
    std::printf("guards alive at the end: %d\n", live_guards);
    return 0;
}
