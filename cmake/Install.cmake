# cmake --install BUILD [--prefix PREFIX]: the programs in bin, the manual page, the sbatch scripts (which then
# find the installed pi-job), the example job files and the documentation.
include(GNUInstallDirs)

install(TARGETS pi-job pi-gateway RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/pi-job.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/checkpoint.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/pi-hpc)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/pi-hpc/jobs
        FILES_MATCHING PATTERN "*.toml")

# The sbatch scripts, with the installed pi-job's path written in. The prefix is the one given at install
# time (cmake --install --prefix), hence the escaped variables.
foreach(script pi.sbatch pi-single.sbatch)
  install(CODE "
    set(bindir \"${CMAKE_INSTALL_BINDIR}\")
    if(NOT IS_ABSOLUTE \"\${bindir}\")
      set(bindir \"\${CMAKE_INSTALL_PREFIX}/\${bindir}\")
    endif()
    file(READ \"${PROJECT_SOURCE_DIR}/slurm/${script}\" text)
    string(REPLACE \"installed_pi_job=\\\"\\\"\" \"installed_pi_job=\\\"\${bindir}/pi-job\\\"\" text \"\${text}\")
    set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/pi-hpc/slurm\")
    file(MAKE_DIRECTORY \"\${dir}\")
    file(WRITE \"\${dir}/${script}\" \"\${text}\")
    file(CHMOD \"\${dir}/${script}\" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
         WORLD_READ WORLD_EXECUTE)
    message(STATUS \"Installing: \${dir}/${script} (pi-job: \${bindir}/pi-job)\")
  ")
endforeach()
