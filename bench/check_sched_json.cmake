cmake_minimum_required(VERSION 3.20)
# Checks the JSON of a quick hosttask-sched-bench run with CMake's own JSON
# parser: cmake -DJSON=file -P check_sched_json.cmake.  Fails on a missing
# or invalid file or a missing field; never on a figure's value.
if(NOT EXISTS "${JSON}")
  message(FATAL_ERROR "${JSON}: no such file (the benchmark did not write it)")
endif()
file(READ "${JSON}" text)
foreach(field tasks rounds workUs repetitions throughputCooperative throughputThreadPerTask throughputRatio
    p99SlotWaitMs handoffUs pingPongUs handoffRatio slots quantumMs waitOnAddressPingPongUs
    handoffVsWaitOnAddress fairWaitMs p99SlotWaitBoundMs medianSlotWaitMs loopsPerUs
    throughputCooperativeCpuWork throughputThreadPerTaskCpuWork throughputRatioCpuWork p99SlotWaitCpuWorkMs)
  string(JSON type ERROR_VARIABLE err TYPE "${text}" ${field})
  if(err OR NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${JSON}: no number for ${field}: ${type} ${err}")
  endif()
endforeach()
message(STATUS "${JSON}: valid")
