# The timeline (hosttask-host --trace and --html, docs/trace.md), included
# by wine-tests/CMakeLists.txt.  Each run is simulated: the launcher holds
# the trace against what the CLR-style driver did (per task, events of each
# kind as many as the driver's calls; per target, its P/Invokes; every span
# closed) and exits 6 on a mismatch.  Then the files are checked on their
# own: the trace against launcher/trace.schema.json and the report of the
# same run (python3-jsonschema), the page in headless Chromium.  The runs
# and the schema checks go through wine-tests/launcher_check.sh and
# wine-tests/with_jsonschema.sh, as in wine-tests/CMakeLists.txt.
set(timeline ${CMAKE_CURRENT_BINARY_DIR}/timeline)

# Thread-per-task, the default workload: P/Invokes, callbacks nested in
# them, sleeps, joins and alerts.
add_test(NAME launcher_trace COMMAND ${launcher_check}
  --rm ${timeline}-default.json --rm ${timeline}-default.html --rm ${timeline}-default-report.json
  --out ${timeline}-default.txt
  --line "^Trace: 10 tasks, [0-9]+ events \\(0 dropped by full buffers of [0-9]+\\), matches what the driver did \\(10 tasks\\)"
  --last "check ok, exit 0$"
  -- ${launcher} --simulate --dll Z:$<TARGET_FILE:hosttask> --json Z:${timeline}-default-report.json
     --trace Z:${timeline}-default.json --html Z:${timeline}-default.html)
# Cooperative mode, one slot, the CPU-bound workload: slot waits, yield
# requests.  The page's screenshot is docs/timeline-cpu.png.
add_test(NAME launcher_trace_cpu COMMAND ${launcher_check}
  --rm ${timeline}-cpu.json --rm ${timeline}-cpu.html --rm ${timeline}-cpu-report.json
  --out ${timeline}-cpu.txt
  --line "^Trace: 9 tasks, [0-9]+ events \\(0 dropped by full buffers of [0-9]+\\), matches what the driver did \\(9 tasks\\)"
  --last "check ok, exit 0$"
  -- ${launcher} --simulate=cpu --scheduler=1 --dll Z:$<TARGET_FILE:hosttask> --json Z:${timeline}-cpu-report.json
     --trace Z:${timeline}-cpu.json --html Z:${timeline}-cpu.html)
# The smallest workload, event for event: 25 P/Invokes of GetTickCount on
# the calling thread, after the runtime start's wait for its finalizer (the
# finalizer and the AD-unload helper run beside it).  The run, then its
# trace against the schema and its report.
add_test(NAME launcher_trace_pinvoke COMMAND sh -c "
  sh '${CMAKE_CURRENT_SOURCE_DIR}/launcher_check.sh' --rm '${timeline}-pinvoke.json' --rm '${timeline}-pinvoke-report.json' \\
    --out '${timeline}-pinvoke.txt' \\
    --line '^Trace: 3 tasks, [0-9]+ events \\(0 dropped by full buffers of [0-9]+\\), matches what the driver did \\(3 tasks\\)' \\
    -- '${HT_WINERUN}' '$<TARGET_FILE:hosttask-host>' --simulate --dll 'Z:$<TARGET_FILE:hosttask>' \\
       --json 'Z:${timeline}-pinvoke-report.json' --trace 'Z:${timeline}-pinvoke.json' \\
       hosttask-simulated HostTask.Simulated.Workloads PInvoke 25 &&
  sh '${CMAKE_CURRENT_SOURCE_DIR}/with_jsonschema.sh' '${PROJECT_SOURCE_DIR}/launcher/check_trace.py' \\
    '${PROJECT_SOURCE_DIR}/launcher/trace.schema.json' '${timeline}-pinvoke.json' '${timeline}-pinvoke-report.json' \\
    --checked --pinvoke-run=25")
set_tests_properties(launcher_trace launcher_trace_cpu launcher_trace_pinvoke PROPERTIES FIXTURES_REQUIRED wine TIMEOUT 120)
set_tests_properties(launcher_trace PROPERTIES FIXTURES_SETUP timeline_default)
set_tests_properties(launcher_trace_cpu PROPERTIES FIXTURES_SETUP timeline_cpu)

add_test(NAME launcher_trace_schema COMMAND ${with_jsonschema} ${PROJECT_SOURCE_DIR}/launcher/check_trace.py
  ${PROJECT_SOURCE_DIR}/launcher/trace.schema.json ${timeline}-default.json ${timeline}-default-report.json --checked)
set_tests_properties(launcher_trace_schema PROPERTIES FIXTURES_REQUIRED timeline_default)
add_test(NAME launcher_trace_cpu_schema COMMAND ${with_jsonschema} ${PROJECT_SOURCE_DIR}/launcher/check_trace.py
  ${PROJECT_SOURCE_DIR}/launcher/trace.schema.json ${timeline}-cpu.json ${timeline}-cpu-report.json --checked --yield-requests)
set_tests_properties(launcher_trace_cpu_schema PROPERTIES FIXTURES_REQUIRED timeline_cpu)

# The pages in headless Chromium: no console message, a row per task, a
# screenshot in the build tree (the cooperative one is docs/timeline-cpu.png).
foreach(run default cpu)
  add_test(NAME launcher_html_${run} COMMAND python3 ${PROJECT_SOURCE_DIR}/launcher/check_html.py
           ${timeline}-${run}.html ${timeline}-${run}.json ${timeline}-${run}.png)
  set_tests_properties(launcher_html_${run} PROPERTIES FIXTURES_REQUIRED timeline_${run} TIMEOUT 300)
endforeach()
