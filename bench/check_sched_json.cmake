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
    throughputCooperativeCpuWork throughputThreadPerTaskCpuWork throughputRatioCpuWork p99SlotWaitCpuWorkMs
    idleCooperativeCpuWorkMs idleThreadPerTaskCpuWorkMs idleCooperativeMs idleThreadPerTaskMs processorSpeedRatio)
  string(JSON type ERROR_VARIABLE err TYPE "${text}" ${field})
  if(err OR NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${JSON}: no number for ${field}: ${type} ${err}")
  endif()
endforeach()
# One speed per processor the benchmark counted (slots is one per processor).
string(JSON type ERROR_VARIABLE err TYPE "${text}" processorLoopsPerUs)
if(err OR NOT type STREQUAL "ARRAY")
  message(FATAL_ERROR "${JSON}: no array for processorLoopsPerUs: ${type} ${err}")
endif()
string(JSON count LENGTH "${text}" processorLoopsPerUs)
string(JSON slots GET "${text}" slots)
if(NOT count EQUAL slots)
  message(FATAL_ERROR "${JSON}: ${count} processor speeds for ${slots} processors")
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON type TYPE "${text}" processorLoopsPerUs ${i})
  if(NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "${JSON}: processorLoopsPerUs[${i}] is ${type}, not a number")
  endif()
endforeach()
message(STATUS "${JSON}: valid")
