// Compiles nothing of its own: the target that owns Catch2's precompiled header, which every
// test suite reuses (cmake/vitals_testing.cmake).
