from agenttail.entry import main

if __name__ == "__main__":  # spawned decoder processes import this module as __mp_main__
    main()
