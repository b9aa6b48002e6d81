# CTest case for the PyTorch peer of the model (scripts/peer/check_ports.py):
# every port of scripts/peer/torch_model.py (and its family modules) is
# trained with mixlab for a few steps and its logits compared. It needs torch
# and safetensors, which are not Debian packages here, so the interpreter is
# configurable: MIXLAB_PEER_PYTHON (cache variable, else the environment
# variable of that name at configure time, else python3). Without torch the
# script prints "skipped: ..." and CTest reports the case as skipped.
# Included at the end of CMakeLists.txt.
set(MIXLAB_PEER_PYTHON "$ENV{MIXLAB_PEER_PYTHON}" CACHE STRING
    "Python interpreter with torch and safetensors for the peer.torch_ports test (empty: python3)")
set(peer_python "${MIXLAB_PEER_PYTHON}")
if(NOT peer_python)
  find_package(Python3 COMPONENTS Interpreter)
  if(NOT Python3_Interpreter_FOUND)
    message(WARNING "python3 not found: the peer.torch_ports test is not registered (scripts/setup.sh installs it)")
    return()
  endif()
  set(peer_python "${Python3_EXECUTABLE}")
endif()

add_test(NAME peer.torch_ports
         COMMAND ${peer_python} ${PROJECT_SOURCE_DIR}/scripts/peer/check_ports.py --mixlab $<TARGET_FILE:mixlab>)
set_tests_properties(peer.torch_ports PROPERTIES TIMEOUT 1200 SKIP_REGULAR_EXPRESSION "^skipped:")
