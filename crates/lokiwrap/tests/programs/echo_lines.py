"""An interactive tool: prompts, reads a line from the terminal, answers; `quit` ends it."""
while True:
    line = input("> ")
    if line == "quit":
        break
    print("got:", line, flush=True)
