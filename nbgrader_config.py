"""nbgrader configuration of the SE4U course: one self-assessment test per module (module1 … module6).

Instructor commands are in docs/grading.md. Folders: source/ (tests with hidden keys), release/
(student versions, generated and committed), submitted/, autograded/, feedback/ (not committed),
gradebook.db (not committed).
"""

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "se4u"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.assignment_id = ""
# Learners must be on the roster; an unknown name in submitted/ is reported, not silently added.
c.Autograde.create_student = False

# Each learner's answers.json travels with the notebook; nothing else needs to be kept.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*.tmp"]

# A cell that runs longer than this is stopped (the rest of the notebook is still graded).
c.ExecutePreprocessor.timeout = 30
c.Execute.timeout = 30

# Feedback shows each item's result and explanation, never the hidden marking code or the key.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "se4u.grading.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
